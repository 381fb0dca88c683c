"""Zips the standard library of the Python running this script (and python3-yaml, which the API
tests read their OpenAPI document with) into OUT, the python311.zip that a bare python3.11
binary finds under PYTHONHOME/lib: the API tests then run in L1 (l1-kvm-suite.sh) without a
Python installation there. Only .py files; the packages no test imports are left out."""
import os
import sys
import sysconfig
import zipfile

LEFT_OUT = {"test", "idlelib", "tkinter", "turtledemo", "ensurepip", "lib2to3", "pydoc_data",
            "distutils", "site-packages", "dist-packages", "lib-dynload", "venv", "__pycache__",
            "sqlite3", "curses", "dbm", "xmlrpc", "wsgiref", "asyncio", "multiprocessing",
            "concurrent"}


def add_tree(z, top, prefix):
    for root, dirs, files in os.walk(top):
        dirs[:] = sorted(d for d in dirs if d not in LEFT_OUT and not d.startswith("config-"))
        for f in sorted(files):
            if f.endswith(".py"):
                path = os.path.join(root, f)
                z.write(path, os.path.join(prefix, os.path.relpath(path, top)))


def main():
    import yaml

    with zipfile.ZipFile(sys.argv[1], "w", zipfile.ZIP_DEFLATED) as z:
        add_tree(z, sysconfig.get_paths()["stdlib"], "")
        add_tree(z, os.path.dirname(yaml.__file__), "yaml")
    return 0


if __name__ == "__main__":
    sys.exit(main())
