"""A fake Telegram Bot API server on loopback (aiohttp.web in its own thread) for bot tests."""

from __future__ import annotations

import asyncio
import contextlib
import http
import itertools
import json
import threading
import time
from collections.abc import Callable
from dataclasses import asdict, dataclass, replace
from typing import Any

import aiogram.methods
from aiogram.types import AcceptedGiftTypes, ChatMemberAdministrator, ChatPermissions
from aiohttp import web

LONG_POLL_CAP = 2.0


def _words(text: str) -> tuple[str, ...]:
    return tuple(text.split())


_ADMIN_FIELDS = ChatMemberAdministrator.model_fields
_ADMIN_REQUIRED = tuple(n for n, f in _ADMIN_FIELDS.items() if f.is_required() and n != "user")
_PERMISSIONS = tuple(ChatPermissions.model_fields)
_RIGHTS: dict[str, set[str]] = {
    "creator": {"is_anonymous"},
    "administrator": {n for n in _ADMIN_FIELDS if n.startswith(("can_", "is_"))},
    "restricted": {"is_member", *_PERMISSIONS},
    "member": set(),
    "left": set(),
    "kicked": set(),
}
_TEXT_PARAMS = _words(
    "text caption data url secret_token description title custom_title parse_mode file_id "
    "callback_query_id inline_message_id query_id name short_description emoji question"
)
_API_METHODS: dict[str, str] = {
    name.lower(): name
    for m in vars(aiogram.methods).values()
    if isinstance(name := getattr(m, "__api_method__", None), str)
}
_MESSAGE_KEYS = _words("message edited_message channel_post edited_channel_post")


class DropConnection(Exception):  # noqa: N818 (name is part of the contract)
    """Raised by an on_call hook: the connection is closed unanswered and the call not applied."""


@dataclass(frozen=True)
class FileRef:
    """A file the fake serves at ``/file/bot{token}/{file_path}``."""

    file_id: str
    file_unique_id: str
    file_size: int
    file_path: str


@dataclass(frozen=True)
class Call:
    """One API request; ``status`` is 0 while unanswered or when the connection was dropped."""

    method: str
    params: dict[str, Any]
    at: float
    status: int


@dataclass
class _Answer:
    result: Any = True
    status: int = 200
    description: str = ""
    parameters: dict[str, Any] | None = None
    apply: Callable[[], None] | None = None


class _ApiError(Exception):
    def __init__(self, description: str, status: int = 400) -> None:
        super().__init__(description)
        self.status = status


def _error(status: int, description: str) -> dict[str, Any]:
    return {"ok": False, "error_code": status, "description": description}


def _decode(key: str, value: Any) -> Any:
    if isinstance(value, web.FileField):
        return value.file.read()
    if not isinstance(value, str) or key in _TEXT_PARAMS:
        return value
    try:
        return json.loads(value)
    except ValueError:
        return value


class FakeBotApi:
    """An in-memory Bot API that records what the bot does and answers as Telegram would."""

    def __init__(
        self,
        token: str = "123456:TEST-token",
        *,
        bot_id: int = 7000001,
        bot_username: str = "shieldwall_test_bot",
    ) -> None:
        self.token, self.bot_id, self.bot_username = token, bot_id, bot_username
        self.base_url = ""
        self.calls: list[Call] = []
        self.deleted: set[tuple[int, int]] = set()
        self.sent: list[dict[str, Any]] = []
        self.edited: list[dict[str, Any]] = []
        self.restricted: list[dict[str, Any]] = []
        self.downloaded: list[str] = []
        self.handed_out: dict[int, float] = {}
        self.confirmed_offset = 0
        self.webhook: dict[str, Any] | None = None
        self._lock = threading.RLock()
        self._ids = itertools.count(1)
        self._next_update_id = 1
        self._updates: list[dict[str, Any]] = []
        self._files: dict[str, FileRef] = {}
        self._data: dict[str, bytes] = {}
        self._messages: dict[tuple[int, int], dict[str, Any]] = {}
        self._own: set[tuple[int, int]] = set()
        self._too_old: set[tuple[int, int]] = set()
        self._chats: dict[int, tuple[str, str]] = {}
        self._members: dict[tuple[int, int], tuple[str, dict[str, bool]]] = {}
        self._next_message_id: dict[int, int] = {}
        self._faults: list[tuple[str, int, int, str | None]] = []
        self._hooks: dict[str, list[Callable[[Call], None]]] = {}
        self._loop: asyncio.AbstractEventLoop | None = None
        self._thread: threading.Thread | None = None
        self._waiters: set[asyncio.Future[None]] = set()
        self._stopping = False

    def start(self) -> FakeBotApi:
        """Serve on 127.0.0.1 at a free port in a background thread; sets ``base_url``."""
        if self._thread is not None:
            raise RuntimeError("FakeBotApi already started")
        ready = threading.Event()
        self._stopping = False
        self._thread = threading.Thread(target=self._serve, args=(ready,), daemon=True)
        self._thread.start()
        if not ready.wait(10) or self._loop is None:
            self._thread.join(1)
            self._thread = None
            raise RuntimeError("FakeBotApi failed to start")
        return self

    def stop(self) -> None:
        """Stop serving and join the server thread; idempotent."""
        thread, loop = self._thread, self._loop
        if thread is None or loop is None:
            return
        with contextlib.suppress(RuntimeError):
            loop.call_soon_threadsafe(self._shutdown)
        thread.join(10)
        self._thread = self._loop = None

    def __enter__(self) -> FakeBotApi:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def _serve(self, ready: threading.Event) -> None:
        loop = asyncio.new_event_loop()
        app = web.Application(client_max_size=64 * 1024 * 1024)
        app.router.add_route("*", "/bot{token}/{method}", self._handle_api)
        app.router.add_get("/file/bot{token}/{path:.+}", self._handle_file)
        runner = web.AppRunner(app, handle_signals=False, shutdown_timeout=0.5, access_log=None)
        try:
            loop.run_until_complete(runner.setup())
            loop.run_until_complete(web.TCPSite(runner, "127.0.0.1", 0).start())
            self.base_url = f"http://127.0.0.1:{runner.addresses[0][1]}"
            self._loop = loop
            ready.set()
            loop.run_forever()
        finally:
            ready.set()
            loop.run_until_complete(runner.cleanup())
            loop.run_until_complete(loop.shutdown_asyncgens())
            loop.close()

    def _shutdown(self) -> None:
        self._stopping = True
        self._wake()
        asyncio.get_running_loop().stop()

    def _wake(self) -> None:
        for waiter in self._waiters:
            if not waiter.done():
                waiter.set_result(None)

    def add_file(self, data: bytes, *, file_unique_id: str | None = None) -> FileRef:
        """Serve ``data`` under fresh ids (``file_unique_id`` is kept when given)."""
        return self._add_file(data, "documents/file_{}", file_unique_id)

    def _add_file(self, data: bytes, path: str, unique_id: str | None = None) -> FileRef:
        with self._lock:
            n = next(self._ids)
            ref = FileRef(
                f"BQACAgFake{n:06d}", unique_id or f"AQADFk{n}", len(data), path.format(n)
            )
            self._files[ref.file_id] = ref
            self._data[ref.file_path] = data
            return ref

    def _media(self, data: bytes, path: str, **extra: Any) -> dict[str, Any]:
        ref = self._add_file(data, path)
        ids = dict(file_id=ref.file_id, file_unique_id=ref.file_unique_id)
        return ids | {"file_size": ref.file_size} | extra

    def _filler(self, tag: str, size: int) -> bytes:
        return (f"{tag}-{next(self._ids)};".encode() * max(size, 1))[: max(size, 1)]

    def push(self, update: dict[str, Any]) -> int:
        """Queue ``update`` for getUpdates, setting an increasing ``update_id`` in it if absent."""
        with self._lock:
            update_id = int(update.setdefault("update_id", self._next_update_id))
            self._next_update_id = max(self._next_update_id, update_id + 1)
            for message in (update.get(key) for key in _MESSAGE_KEYS):
                if isinstance(message, dict):
                    self._messages[(message["chat"]["id"], message["message_id"])] = message
            self._updates.append(update)
            self._updates.sort(key=lambda u: int(u["update_id"]))
        if (loop := self._loop) is not None:
            with contextlib.suppress(RuntimeError):
                loop.call_soon_threadsafe(self._wake)
        return update_id

    @property
    def last_update_id(self) -> int:
        """The highest update id pushed so far (0 before the first)."""
        with self._lock:
            return self._next_update_id - 1

    def _user(self, user_id: int) -> dict[str, Any]:
        if user_id == self.bot_id:
            return dict(id=user_id, is_bot=True, first_name="Bot", username=self.bot_username)
        return dict(id=user_id, is_bot=False, first_name=f"User{user_id}", username=f"u{user_id}")

    def _chat(self, chat_id: int, kind: str = "", title: str = "") -> dict[str, Any]:
        with self._lock:
            default = ("private" if chat_id > 0 else "supergroup", "Test group")
            old = self._chats.get(chat_id, default)
            kind, title = self._chats[chat_id] = (kind or old[0], title or old[1])
        if kind == "private":
            return dict(id=chat_id, type=kind, first_name=f"User{chat_id}", username=f"u{chat_id}")
        return dict(id=chat_id, type=kind, title=title)

    def _post(self, where: tuple[int, int, int, str, bool], **content: Any) -> dict[str, Any]:
        chat_id, message_id, user_id, kind, edited = where
        now = int(time.time())
        message = dict(message_id=message_id, date=now - 9 * edited, chat=self._chat(chat_id, kind))
        message["from"] = self._user(user_id)
        message |= {k: v for k, v in content.items() if v is not None}
        message |= {"edit_date": now} if edited else {}
        with self._lock:
            self._messages[(chat_id, message_id)] = message
        return {"edited_message" if edited else "message": message}

    def photo_update(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        data: bytes,
        *,
        caption: str | None = None,
        media_group_id: str | None = None,
        edited: bool = False,
        chat_type: str = "supergroup",
    ) -> dict[str, Any]:
        """A photo message: three ascending sizes, of which only the largest serves ``data``."""
        small, medium = self._filler("small", len(data) // 16), self._filler("med", len(data) // 4)
        photo = [
            self._media(small, "photos/file_{}.jpg", width=90, height=67),
            self._media(medium, "photos/file_{}.jpg", width=320, height=240),
            self._media(data, "photos/file_{}.jpg", width=1280, height=960),
        ]
        where = (chat_id, message_id, user_id, chat_type, edited)
        return self._post(where, photo=photo, caption=caption, media_group_id=media_group_id)

    def document_update(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        data: bytes,
        *,
        mime_type: str = "image/png",
        file_name: str = "image.png",
        caption: str | None = None,
        edited: bool = False,
        chat_type: str = "supergroup",
    ) -> dict[str, Any]:
        """A document message; an image document carries a thumbnail that is not ``data``."""
        path = "documents/file_{}" + file_name[file_name.rfind(".") :] * ("." in file_name)
        document = self._media(data, path, file_name=file_name, mime_type=mime_type)
        if mime_type.startswith("image/"):
            document["thumbnail"] = self._thumbnail(len(data))
        where = (chat_id, message_id, user_id, chat_type, edited)
        return self._post(where, document=document, caption=caption)

    def _thumbnail(self, size: int) -> dict[str, Any]:
        thumb = self._filler("thumb", size // 16)
        return self._media(thumb, "thumbnails/file_{}.jpg", width=320, height=320)

    def sticker_update(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        data: bytes,
        *,
        is_animated: bool = False,
        is_video: bool = False,
        chat_type: str = "supergroup",
    ) -> dict[str, Any]:
        """A sticker message: WebP when static, TGS when animated, WebM when video."""
        path = "stickers/file_{}" + (".tgs" if is_animated else ".webm" if is_video else ".webp")
        kind = dict(type="regular", width=512, height=512, is_animated=is_animated)
        extra = dict(is_video=is_video, emoji="🙂", thumbnail=self._thumbnail(len(data)))
        sticker = self._media(data, path, **kind, **extra)
        return self._post((chat_id, message_id, user_id, chat_type, False), sticker=sticker)

    def text_update(
        self,
        chat_id: int,
        message_id: int,
        user_id: int,
        text: str,
        *,
        entities: list[dict[str, Any]] | None = None,
        reply_to: dict[str, Any] | None = None,
        reply_markup: dict[str, Any] | None = None,
        chat_type: str = "supergroup",
        edited: bool = False,
    ) -> dict[str, Any]:
        """A text message, replying to the message dict ``reply_to`` when given."""
        content = dict(text=text, entities=entities, reply_to_message=reply_to)
        where = (chat_id, message_id, user_id, chat_type, edited)
        return self._post(where, **content, reply_markup=reply_markup)

    def callback_update(
        self, chat_id: int, message_id: int, user_id: int, data: str
    ) -> dict[str, Any]:
        """A press of a button carrying ``data`` on the bot's message ``message_id``."""
        with self._lock:
            message = self._messages.get((chat_id, message_id)) or dict(
                message_id=message_id, date=int(time.time()), chat=self._chat(chat_id), text="…"
            ) | {"from": self._user(self.bot_id)}
            query = dict(id=str(4 * 10**18 + next(self._ids)), message=message, data=data)
        return {"callback_query": query | {"from": self._user(user_id), "chat_instance": "ci1"}}

    def my_chat_member_update(
        self,
        chat_id: int,
        user_id: int,
        *,
        new_status: str = "administrator",
        chat_type: str = "supergroup",
        title: str = "Test group",
    ) -> dict[str, Any]:
        """``user_id`` changed the bot's status in ``chat_id``; getChatMember follows it."""
        chat, me = self._chat(chat_id, chat_type, title), (chat_id, self.bot_id)
        with self._lock:
            left = dict(status="left", user=self._user(self.bot_id))
            old = self._member(*me) if me in self._members else left
            self._members.pop(me, None)
            if new_status != "administrator":
                self.set_member(chat_id, self.bot_id, new_status)
            new = self._member(*me)
        change = dict(chat=chat, date=int(time.time()), old_chat_member=old, new_chat_member=new)
        return {"my_chat_member": {"from": self._user(user_id)} | change}

    def set_member(
        self, chat_id: int, user_id: int, status: str = "administrator", **rights: bool
    ) -> None:
        """Set what getChatMember answers; rights not given are False ("owner" is "creator")."""
        status = "creator" if status == "owner" else status
        if status not in _RIGHTS or not set(rights) <= _RIGHTS[status]:
            raise ValueError(f"bad member status or rights: {status} {sorted(rights)}")
        with self._lock:
            self._members[(chat_id, user_id)] = (status, dict(rights))

    def _member(self, chat_id: int, user_id: int) -> dict[str, Any]:
        default: tuple[str, dict[str, bool]] = ("member", {})
        if user_id == self.bot_id:
            default = ("administrator", {"can_delete_messages": True, "can_restrict_members": True})
        status, rights = self._members.get((chat_id, user_id), default)
        member: dict[str, Any] = {"status": status, "user": self._user(user_id)}
        if status == "creator":
            member["is_anonymous"] = False
        elif status == "administrator":
            member |= dict.fromkeys(_ADMIN_REQUIRED, False) | {"can_manage_chat": True}
        elif status == "restricted":
            member |= {"is_member": True, "until_date": 0} | dict.fromkeys(_PERMISSIONS, False)
        elif status == "kicked":
            member["until_date"] = 0
        return member | rights

    def mark_too_old(self, chat_id: int, message_id: int) -> None:
        """Make deleteMessage of this message answer "can't be deleted for everyone"."""
        with self._lock:
            self._too_old.add((chat_id, message_id))

    def fail(
        self,
        method: str,
        status: int,
        *,
        times: int = 1,
        retry_after: int = 1,
        description: str | None = None,
    ) -> None:
        """The next ``times`` calls of ``method`` ("*": all but getUpdates) answer ``status``."""
        with self._lock:
            self._faults += [(method.lower(), status, retry_after, description)] * times

    def on_call(self, method: str, hook: Callable[[Call], None]) -> None:
        """Run ``hook`` in the server thread before each ``method`` ("*": any) call is answered.

        The hook sees the status about to be sent; raising DropConnection drops the call unapplied.
        """
        with self._lock:
            self._hooks.setdefault(method.lower(), []).append(hook)

    def calls_to(self, method: str) -> list[Call]:
        """The calls of ``method`` (case-insensitive), in arrival order."""
        with self._lock:
            return [c for c in self.calls if c.method.lower() == method.lower()]

    def wait_for(self, predicate: Callable[[FakeBotApi], bool], timeout: float = 10.0) -> None:
        """Block until ``predicate(self)``, else AssertionError summarising the calls.

        With the bot in the caller's event loop: ``await asyncio.to_thread(fake.wait_for, p)``.
        """
        deadline = time.monotonic() + timeout
        while not predicate(self):
            if time.monotonic() > deadline:
                raise AssertionError(f"condition not met in {timeout}s; {self._summary()}")
            time.sleep(0.01)

    def _summary(self) -> str:
        with self._lock:
            calls = [f"{c.method}->{c.status}" for c in self.calls if c.method != "getUpdates"]
            polls = len(self.calls) - len(calls)
        return f"{polls} getUpdates; other calls: {', '.join(calls[-30:]) or 'none'}"

    async def _params(self, request: web.Request) -> dict[str, Any]:
        raw: dict[str, Any] = dict(request.query)
        if request.content_type == "application/json" and request.can_read_body:
            return raw | dict(await request.json())
        if request.content_type in ("multipart/form-data", "application/x-www-form-urlencoded"):
            raw |= dict(await request.post())
        return {key: _decode(key, value) for key, value in raw.items()}

    async def _handle_api(self, request: web.Request) -> web.StreamResponse:
        method, token = request.match_info["method"].lower(), request.match_info["token"]
        params, name = await self._params(request), request.match_info["method"]
        call = Call(_API_METHODS.get(method, name), params, time.monotonic(), 0)
        with self._lock:
            index = len(self.calls)
            self.calls.append(call)
        if method == "getupdates" and token == self.token:
            await self._long_poll(call.params)
        with self._lock:
            answer = self._plan(method, token, call.params)
            call = replace(call, status=answer.status)
            try:
                for hook in self._hooks.get(method, []) + self._hooks.get("*", []):
                    hook(call)
            except DropConnection:
                if request.transport is not None:
                    request.transport.close()
                return web.Response()
            if answer.apply is not None:
                answer.apply()
            self.calls[index] = call
        if answer.status == 200:
            return web.json_response({"ok": True, "result": answer.result})
        body = _error(answer.status, answer.description)
        body |= {"parameters": answer.parameters} if answer.parameters else {}
        return web.json_response(body, status=answer.status)

    async def _handle_file(self, request: web.Request) -> web.StreamResponse:
        path = request.match_info["path"]
        with self._lock:
            data = self._data.get(path) if request.match_info["token"] == self.token else None
            if data is not None:
                self.downloaded.append(path)
        if data is None:
            return web.json_response(_error(404, "Not Found"), status=404)
        return web.Response(body=data, content_type="application/octet-stream")

    def _take_fault(self, method: str) -> _Answer | None:
        for i, (name, status, retry_after, text) in enumerate(self._faults):
            if name == method or (name == "*" and method != "getupdates"):
                del self._faults[i]
                if status == 429:
                    slow = text or f"Too Many Requests: retry after {retry_after}"
                    return _Answer(None, 429, slow, {"retry_after": retry_after})
                default = (
                    "Internal Server Error" if status >= 500 else http.HTTPStatus(status).phrase
                )
                return _Answer(None, status, text or default)
        return None

    def _plan(self, method: str, token: str, params: dict[str, Any]) -> _Answer:
        if token != self.token:
            return _Answer(None, 401, "Unauthorized")
        if method not in _API_METHODS:
            return _Answer(None, 404, "Not Found")
        if fault := self._take_fault(method):
            return fault
        handler: Callable[[dict[str, Any]], _Answer] | None = getattr(self, f"_api_{method}", None)
        try:
            return handler(params) if handler else _Answer(True)
        except _ApiError as e:
            return _Answer(None, e.status, str(e))
        except (KeyError, TypeError, ValueError) as e:
            return _Answer(None, 400, f"Bad Request: invalid parameters ({e!r})")

    async def _long_poll(self, params: dict[str, Any]) -> None:
        with self._lock:
            if self.webhook is not None or any(f[0] == "getupdates" for f in self._faults):
                return
            if (offset := int(params.get("offset", 0))) > 0:
                self._updates = [u for u in self._updates if int(u["update_id"]) >= offset]
                self.confirmed_offset = max(self.confirmed_offset, offset)
        loop = asyncio.get_running_loop()
        deadline = loop.time() + min(float(params.get("timeout", 0)), LONG_POLL_CAP)
        while not self._updates and not self._stopping and loop.time() < deadline:
            waiter = loop.create_future()
            self._waiters.add(waiter)
            await asyncio.wait([waiter], timeout=deadline - loop.time())
            self._waiters.discard(waiter)

    def _api_getme(self, params: dict[str, Any]) -> _Answer:
        flags = dict(
            can_join_groups=True, can_read_all_group_messages=False, supports_inline_queries=False
        )
        return _Answer(self._user(self.bot_id) | flags)

    def _api_getupdates(self, params: dict[str, Any]) -> _Answer:
        if self.webhook is not None:
            raise _ApiError("Conflict: can't use getUpdates method while webhook is active", 409)
        batch = self._updates[: min(max(int(params.get("limit", 100)), 1), 100)]

        def apply() -> None:
            for update in batch:
                self.handed_out.setdefault(int(update["update_id"]), time.monotonic())

        return _Answer(batch, apply=apply)

    def _api_getfile(self, params: dict[str, Any]) -> _Answer:
        if (ref := self._files.get(str(params["file_id"]))) is None:
            raise _ApiError("Bad Request: invalid file_id")
        return _Answer(asdict(ref))

    def _may_delete(self, chat_id: int) -> bool:
        bot = self._member(chat_id, self.bot_id)
        return bool(bot.get("can_delete_messages", bot["status"] == "creator"))

    def _api_deletemessage(self, params: dict[str, Any]) -> _Answer:
        key = (int(params["chat_id"]), int(params["message_id"]))
        if key in self.deleted or key not in self._messages:
            raise _ApiError("Bad Request: message to delete not found")
        if key not in self._own and not self._may_delete(key[0]):
            raise _ApiError("Bad Request: message can't be deleted")
        if key in self._too_old:
            raise _ApiError("Bad Request: message can't be deleted for everyone")
        return _Answer(True, apply=lambda: self.deleted.add(key))

    def _api_deletemessages(self, params: dict[str, Any]) -> _Answer:
        chat_id = int(params["chat_id"])
        keys = {(chat_id, int(m)) for m in params["message_ids"]} & self._messages.keys()
        keys -= self.deleted | self._too_old
        if not keys <= self._own and not self._may_delete(chat_id):
            raise _ApiError("Bad Request: message can't be deleted")
        return _Answer(True, apply=lambda: self.deleted.update(keys))

    def _api_sendmessage(self, params: dict[str, Any]) -> _Answer:
        chat_id = int(params["chat_id"])
        message_id = self._next_message_id.get(chat_id, 100000)
        self._next_message_id[chat_id] = message_id + 1
        message = dict(
            message_id=message_id,
            date=int(time.time()),
            chat=self._chat(chat_id),
            text=str(params["text"]),
        )
        message["from"] = self._user(self.bot_id)
        reply = params.get("reply_parameters", {}).get(
            "message_id", params.get("reply_to_message_id")
        )
        if (replied := self._messages.get((chat_id, int(reply or 0)))) is not None:
            message["reply_to_message"] = replied
        if "inline_keyboard" in params.get("reply_markup", {}):
            message["reply_markup"] = params["reply_markup"]

        def apply() -> None:
            self._messages[(chat_id, message_id)] = message
            self._own.add((chat_id, message_id))
            self.sent.append(params | {"message_id": message_id})

        return _Answer(message, apply=apply)

    def _edit(self, params: dict[str, Any], changes: dict[str, Any]) -> _Answer:
        if "inline_message_id" in params:
            return _Answer(True, apply=lambda: self.edited.append(params))
        key = (int(params["chat_id"]), int(params["message_id"]))
        if (old := self._messages.get(key)) is None or key in self.deleted:
            raise _ApiError("Bad Request: message to edit not found")
        new = {k: v for k, v in old.items() if k != "reply_markup"} | changes
        if "inline_keyboard" in params.get("reply_markup", {}):
            new["reply_markup"] = params["reply_markup"]
        if new == old:
            raise _ApiError("Bad Request: message is not modified")
        new["edit_date"] = int(time.time())

        def apply() -> None:
            self._messages[key] = new
            self.edited.append(params)

        return _Answer(new, apply=apply)

    def _api_editmessagetext(self, params: dict[str, Any]) -> _Answer:
        return self._edit(params, {"text": str(params["text"])})

    def _api_editmessagereplymarkup(self, params: dict[str, Any]) -> _Answer:
        return self._edit(params, {})

    def _api_restrictchatmember(self, params: dict[str, Any]) -> _Answer:
        chat_id, user_id = int(params["chat_id"]), int(params["user_id"])
        bot = self._member(chat_id, self.bot_id)
        if not bot.get("can_restrict_members", bot["status"] == "creator"):
            raise _ApiError("Bad Request: not enough rights to restrict/unrestrict chat member")
        if self._member(chat_id, user_id)["status"] in ("creator", "administrator"):
            raise _ApiError("Bad Request: user is an administrator of the chat")
        perms = {k: bool(v) for k, v in dict(params["permissions"]).items() if k in _PERMISSIONS}

        def apply() -> None:
            self.restricted.append(params)
            if all(perms.get(k, False) for k in _PERMISSIONS):
                self._members.pop((chat_id, user_id), None)
            else:
                self._members[(chat_id, user_id)] = ("restricted", perms)

        return _Answer(True, apply=apply)

    def _api_getchatmember(self, params: dict[str, Any]) -> _Answer:
        return _Answer(self._member(int(params["chat_id"]), int(params["user_id"])))

    def _api_getchatadministrators(self, params: dict[str, Any]) -> _Answer:
        chat_id = int(params["chat_id"])
        users = sorted({u for (c, u) in self._members if c == chat_id} | {self.bot_id})
        members = [self._member(chat_id, u) for u in users]
        return _Answer([m for m in members if m["status"] in ("creator", "administrator")])

    def _api_getchat(self, params: dict[str, Any]) -> _Answer:
        gifts = dict.fromkeys(AcceptedGiftTypes.model_fields, False)
        extra = dict(accent_color_id=0, max_reaction_count=11, accepted_gift_types=gifts)
        return _Answer(self._chat(int(params["chat_id"])) | extra)

    def _api_setwebhook(self, params: dict[str, Any]) -> _Answer:
        return _Answer(True, apply=lambda: self._set_webhook(params, params))

    def _api_deletewebhook(self, params: dict[str, Any]) -> _Answer:
        return _Answer(True, apply=lambda: self._set_webhook(None, params))

    def _set_webhook(self, webhook: dict[str, Any] | None, params: dict[str, Any]) -> None:
        self.webhook = webhook
        if params.get("drop_pending_updates"):
            self._updates.clear()

    def _api_getwebhookinfo(self, params: dict[str, Any]) -> _Answer:
        hook = self.webhook or {}
        info = dict(
            url=hook.get("url", ""),
            has_custom_certificate=False,
            pending_update_count=len(self._updates),
        )
        return _Answer(
            info
            | ({"allowed_updates": hook["allowed_updates"]} if "allowed_updates" in hook else {})
        )
