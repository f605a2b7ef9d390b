"""A stopped stack starts again at once: connections it served, left in TIME_WAIT, do not hold its ports."""

from __future__ import annotations

import socket

import click
import pytest
from aftercare_local.__main__ import _port_is_free


def port_left_in_time_wait() -> int:
    """A port whose server closed a connection first: the kernel keeps it in TIME_WAIT for a minute."""
    server = socket.socket()
    server.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
    server.bind(("127.0.0.1", 0))
    server.listen()
    port = int(server.getsockname()[1])
    client = socket.create_connection(("127.0.0.1", port))
    accepted, _ = server.accept()
    accepted.close()  # the server's side closes first, as a server stopping does
    client.recv(1)
    client.close()
    server.close()
    return port


def test_a_port_in_time_wait_is_free_for_the_next_start() -> None:
    port = port_left_in_time_wait()
    # What the check did before: a plain bind, refused for a minute.
    with socket.socket() as plain, pytest.raises(OSError):
        plain.bind(("127.0.0.1", port))
    _port_is_free(port, "the site and the API", "PORT")


def test_a_port_someone_listens_on_is_still_refused_in_one_line() -> None:
    with socket.socket() as listener:
        listener.bind(("127.0.0.1", 0))
        listener.listen()
        port = int(listener.getsockname()[1])
        busy = f"port {port} for the site and the API is already in use"
        with pytest.raises(click.ClickException, match=busy):
            _port_is_free(port, "the site and the API", "PORT")
