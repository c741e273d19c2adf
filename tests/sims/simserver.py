"""The HTTP server every simulator runs on."""

from http.server import ThreadingHTTPServer


class Server(ThreadingHTTPServer):
    """A thread per request, with a listen backlog for bursts: the standard library's
    backlog of 5 drops connections past it, and the sender's retry of its SYN then
    costs a whole second (the dispatcher hands events over six at a time)."""

    request_queue_size = 128
    daemon_threads = True
