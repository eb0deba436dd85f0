"""The fan-out benchmark's baseline: a bare Channels consumer that joins one group and
echoes whatever a client sends to every member through ``group_send``. Same settings,
channel layer and Daphne as the service; no database, no access rule."""

import os

from django.core.asgi import get_asgi_application

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "srn.settings")
django_http = get_asgi_application()  # /healthz, for the launcher's readiness check

from channels.generic.websocket import AsyncWebsocketConsumer  # noqa: E402
from channels.routing import ProtocolTypeRouter, URLRouter  # noqa: E402
from django.urls import path  # noqa: E402

GROUP = "bench.echo"


class Echo(AsyncWebsocketConsumer):
    async def connect(self):
        await self.channel_layer.group_add(GROUP, self.channel_name)
        await self.accept()

    async def disconnect(self, code):
        await self.channel_layer.group_discard(GROUP, self.channel_name)

    async def receive(self, text_data=None, bytes_data=None):
        await self.channel_layer.group_send(GROUP, {"type": "bench.echo", "text": text_data})

    async def bench_echo(self, message):
        await self.send(text_data=message["text"])


application = ProtocolTypeRouter(
    {"http": django_http, "websocket": URLRouter([path("echo/", Echo.as_asgi())])}
)
