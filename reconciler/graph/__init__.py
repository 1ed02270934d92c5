"""The topology of the BGP objects the manifests (or a plan) declare, for `reconciler graph` and
the plan comment's diagram.

`model` holds the plain values (nodes, edges, the states they are coloured by); `build` makes a
graph from manifests, a plan or the addresses a report names, asking each cloud what its objects
hang from (`Cloud.graph_chain`); `mermaid` and `dot` render it. Nothing here makes an API call.
"""
