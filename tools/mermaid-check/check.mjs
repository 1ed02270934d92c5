// Checks that diagrams parse: Mermaid ones with Mermaid's own parser, Graphviz DOT ones (--dot)
// with dotparser, a parser of the DOT grammar. Exits 1 when any file does not parse.
// Usage: node check.mjs [--dot] FILE...   ("-" reads one diagram from standard input)
// Mermaid expects a browser: jsdom provides the window and document it touches while parsing.
import { readFileSync } from "node:fs";
import { createRequire } from "node:module";

const args = process.argv.slice(2);
const dot = args[0] === "--dot";
const files = dot ? args.slice(1) : args;

async function mermaidParser() {
  const { JSDOM } = await import("jsdom");
  const dom = new JSDOM("<!DOCTYPE html><body></body>", { pretendToBeVisual: true });
  globalThis.window = dom.window;
  globalThis.document = dom.window.document;
  for (const name of ["DOMParser", "Element", "HTMLElement", "Node", "navigator"]) {
    if (!(name in globalThis)) globalThis[name] = dom.window[name];
  }
  const { default: mermaid } = await import("mermaid");
  mermaid.initialize({ startOnLoad: false, securityLevel: "strict" });
  return async (text) => (await mermaid.parse(text)).diagramType;
}

function dotParser() {
  const parse = createRequire(import.meta.url)("dotparser");
  return async (text) => {
    const graphs = parse(text);
    if (graphs.length !== 1) throw new Error(`expected one graph, found ${graphs.length}`);
    return graphs[0].type;
  };
}

const parse = dot ? dotParser() : await mermaidParser();
let failed = 0;
for (const file of files) {
  const text = readFileSync(file === "-" ? 0 : file, "utf8");
  try {
    console.log(`ok ${file} (${await parse(text)})`);
  } catch (error) {
    failed += 1;
    console.error(`parse error in ${file}: ${error && error.message ? error.message : error}`);
  }
}
process.exit(failed ? 1 : 0);
