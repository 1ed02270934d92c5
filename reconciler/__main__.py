from reconciler.cli import program

if __name__ == "__main__":  # not when a helper process started afresh imports it (manifest/helpers.py)
    program()
