"""A small HTTP/1.1 server on asyncio protocols, built for the two stores.

Why not a framework: serving the reference's wire protocol with aiohttp
costs 90-140 microseconds of server CPU per small request, measured on the
hashserver; the 10x targets over the reference need well under 50. This
layer serves a small request inside ``data_received`` without creating a
task, streams large bodies with backpressure, and sends large files with
sendfile. Handlers and stores know nothing of it beyond Request/Response.
"""

from .app import Activity, HttpApp
from .messages import FileBody, Request, Response, StreamBody, empty, json_response, text
from .parser import HttpError
from .routing import Router
from .server import HttpServer, new_event_loop
from .streams import BodyStream, ClientDisconnected

__all__ = [
    "Activity", "BodyStream", "ClientDisconnected", "FileBody", "HttpApp", "HttpError",
    "HttpServer", "Request", "Response", "Router", "StreamBody", "empty", "json_response",
    "new_event_loop", "text",
]
