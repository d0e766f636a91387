"""The one map of a deployment's data folder: where every file lives, the default ports and URLs,
and the formats of the small files the administrator hands the key servers.

Paths are written down here and nowhere else, so the administrator's tooling, the servers, the
launcher and the CLI cannot drift apart on where a file is (``layout``); so are the ports a
deployment uses when the operator names none (``defaults``). The key share (``share_file``) and
the key server's web origins (``web_origins``) are formats of this folder, written by
``admin init`` and read by the key server.
"""

from consilience.datadir.layout import DataDir, EscrowFolder, KeyServerFolder

__all__ = ["DataDir", "EscrowFolder", "KeyServerFolder"]
