"""The server process itself: it stops cleanly on SIGTERM, with clients connected."""

import signal
import subprocess

from support import STRING, VARBINARY, connect_legacy, legacy_call, ok


def test_sigterm_stops_the_server_cleanly_with_clients_connected(fresh_server):
    fser = connect_legacy(fresh_server)
    try:
        ok(legacy_call(fser, "KV.insert", [STRING, VARBINARY], ["before-stop", b"x"]))
        fresh_server.proc.send_signal(signal.SIGTERM)
        try:
            code = fresh_server.proc.wait(timeout=20)
        except subprocess.TimeoutExpired:
            raise AssertionError("still running 20 s after SIGTERM:\n" + fresh_server.log_tail())
        assert code == 0, "exit code %d after SIGTERM:\n%s" % (code, fresh_server.log_tail())
    finally:
        fser.close()
