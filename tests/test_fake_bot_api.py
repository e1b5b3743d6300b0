"""The fake Bot API answers a real aiogram Bot as Telegram would, and records what it did."""

from __future__ import annotations

import asyncio
import io
import json
import threading
import time
import urllib.request
from collections.abc import Awaitable, Callable, Iterator
from typing import Any, TypeVar

import pytest
from aiogram import Bot
from aiogram.client.session.aiohttp import AiohttpSession
from aiogram.client.telegram import TelegramAPIServer
from aiogram.exceptions import (
    TelegramBadRequest,
    TelegramConflictError,
    TelegramNetworkError,
    TelegramRetryAfter,
    TelegramServerError,
    TelegramUnauthorizedError,
)
from aiogram.methods import GetUpdates
from aiogram.types import (
    ChatFullInfo,
    ChatMemberAdministrator,
    ChatMemberMember,
    ChatMemberOwner,
    ChatMemberRestricted,
    ChatPermissions,
    InlineKeyboardButton,
    InlineKeyboardMarkup,
    Message,
    Update,
)

from fake_bot_api import Call, DropConnection, FakeBotApi

T = TypeVar("T")
CHAT, USER = -1001234567890, 4242


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as api:
        yield api


def drive(fake: FakeBotApi, body: Callable[[Bot], Awaitable[T]], token: str | None = None) -> T:
    """Run ``body`` with a real Bot whose session talks to ``fake``, closing the session after."""

    async def main() -> T:
        session = AiohttpSession(api=TelegramAPIServer.from_base(fake.base_url))
        bot = Bot(token or fake.token, session=session)
        try:
            return await body(bot)
        finally:
            await bot.session.close()

    return asyncio.run(main())


def test_get_me_is_the_bot(fake: FakeBotApi) -> None:
    me = drive(fake, lambda bot: bot.get_me())
    assert (me.id, me.is_bot, me.username) == (fake.bot_id, True, fake.bot_username)
    assert me.can_join_groups and me.supports_inline_queries is False
    assert [c.method for c in fake.calls] == ["getMe"]
    assert fake.calls[0].status == 200 and fake.calls_to("GETME") == fake.calls


def test_get_updates_confirms_by_offset_and_limits(fake: FakeBotApi) -> None:
    ids = [fake.push(fake.text_update(CHAT, 10 + n, USER, f"hi {n}")) for n in range(3)]
    assert ids == [1, 2, 3]

    async def body(bot: Bot) -> list[list[int]]:
        seen = []
        for offset, limit in ((None, 2), (None, 100), (2, 100), (4, 100)):
            updates = await bot(GetUpdates(offset=offset, limit=limit, timeout=0))
            seen.append([u.update_id for u in updates])
        return seen

    started = time.monotonic()
    assert drive(fake, body) == [[1, 2], [1, 2, 3], [2, 3], []]
    assert fake.confirmed_offset == 4
    assert set(fake.handed_out) == {1, 2, 3}
    assert all(started <= at <= time.monotonic() for at in fake.handed_out.values())
    assert fake.push({"message": fake.text_update(CHAT, 20, USER, "x")["message"]}) == 4


def test_long_poll_waits_and_wakes_on_push(fake: FakeBotApi) -> None:
    async def poll(bot: Bot) -> tuple[list[int], float, list[int], float]:
        started = time.monotonic()
        empty = await bot(GetUpdates(timeout=1))
        waited = time.monotonic() - started
        threading.Timer(0.2, lambda: fake.push(fake.text_update(CHAT, 1, USER, "late"))).start()
        started = time.monotonic()
        woken = await bot(GetUpdates(timeout=30))
        return [u.update_id for u in empty], waited, [u.update_id for u in woken], started

    empty, waited, woken, started = drive(fake, poll)
    assert empty == [] and 0.9 <= waited < 1.9
    assert woken == [1] and fake.handed_out[1] - started < 1.0


def test_get_file_and_download_give_the_largest_photo(fake: FakeBotApi) -> None:
    data = bytes(range(256)) * 40
    update = fake.photo_update(CHAT, 5, USER, data, caption="look")
    sizes = update["message"]["photo"]
    assert [s["width"] for s in sizes] == sorted(s["width"] for s in sizes)
    assert [s["file_size"] for s in sizes] == sorted(s["file_size"] for s in sizes)
    assert len({s["file_id"] for s in sizes}) == 3

    async def body(bot: Bot) -> list[bytes]:
        contents = []
        for size in sizes:
            file = await bot.get_file(size["file_id"])
            assert file.file_size == size["file_size"] and file.file_path
            buffer = io.BytesIO()
            await bot.download_file(file.file_path, destination=buffer)
            contents.append(buffer.getvalue())
        return contents

    small, medium, large = drive(fake, body)
    assert large == data and data not in (small, medium)
    assert len(fake.downloaded) == 3


def test_unknown_file_id_and_path(fake: FakeBotApi) -> None:
    with pytest.raises(TelegramBadRequest, match="invalid file_id"):
        drive(fake, lambda bot: bot.get_file("nope"))
    ref = fake.add_file(b"abc", file_unique_id="same")
    assert fake.add_file(b"abc", file_unique_id="same").file_unique_id == "same"
    assert fake.add_file(b"abc").file_id != ref.file_id
    url = f"{fake.base_url}/file/bot{fake.token}/{ref.file_path}"
    with urllib.request.urlopen(url) as response:
        assert response.read() == b"abc"
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(url + "-missing")
    assert error.value.code == 404
    error.value.close()


def test_delete_message_once_then_not_found(fake: FakeBotApi) -> None:
    fake.push(fake.photo_update(CHAT, 7, USER, b"img" * 100))
    fake.photo_update(CHAT, 11, USER, b"a", media_group_id="album")
    fake.photo_update(CHAT, 12, USER, b"b", media_group_id="album")

    async def body(bot: Bot) -> None:
        assert await bot.delete_message(CHAT, 7) is True
        assert fake.deleted == {(CHAT, 7)}
        for message_id in (7, 8):
            with pytest.raises(TelegramBadRequest, match="message to delete not found"):
                await bot.delete_message(CHAT, message_id)
        assert await bot.delete_messages(CHAT, [7, 11, 12, 13]) is True

    drive(fake, body)
    assert [c.status for c in fake.calls_to("deleteMessage")] == [200, 400, 400]
    assert fake.deleted == {(CHAT, 7), (CHAT, 11), (CHAT, 12)}


def test_delete_too_old_and_without_rights(fake: FakeBotApi) -> None:
    fake.text_update(CHAT, 1, USER, "old")
    fake.text_update(CHAT, 2, USER, "new")
    fake.mark_too_old(CHAT, 1)
    with pytest.raises(TelegramBadRequest, match="can't be deleted for everyone"):
        drive(fake, lambda bot: bot.delete_message(CHAT, 1))
    fake.set_member(CHAT, fake.bot_id, "member")
    with pytest.raises(TelegramBadRequest, match=r"message can't be deleted$"):
        drive(fake, lambda bot: bot.delete_message(CHAT, 2))
    with pytest.raises(TelegramBadRequest, match="not enough rights to restrict"):
        drive(fake, lambda bot: bot.restrict_chat_member(CHAT, USER, ChatPermissions()))
    assert fake.deleted == set() and fake.restricted == []


def test_faults_429_then_502_in_order(fake: FakeBotApi) -> None:
    fake.fail("getMe", 429, retry_after=7)
    fake.fail("*", 502, times=2)

    async def body(bot: Bot) -> list[str]:
        outcomes = []
        for _ in range(4):
            try:
                await bot.get_me()
                outcomes.append("ok")
            except TelegramRetryAfter as e:
                outcomes.append(f"retry {e.retry_after}")
            except TelegramServerError as e:
                outcomes.append(f"server {e.message}")
        await bot(GetUpdates(timeout=0))
        return outcomes

    expected = ["retry 7", "server Internal Server Error", "server Internal Server Error", "ok"]
    assert drive(fake, body) == expected
    assert [c.status for c in fake.calls] == [429, 502, 502, 200, 200]


def test_get_chat_member_statuses_validate(fake: FakeBotApi) -> None:
    fake.set_member(CHAT, 1, "owner")
    fake.set_member(CHAT, 2, "administrator", can_delete_messages=True, can_restrict_members=True)
    other_chat = -100555
    fake.set_member(other_chat, fake.bot_id, "administrator", can_restrict_members=True)

    async def body(bot: Bot) -> list[Any]:
        users = [(CHAT, 1), (CHAT, 2), (CHAT, 3), (CHAT, fake.bot_id), (other_chat, fake.bot_id)]
        return [await bot.get_chat_member(chat, user) for chat, user in users]

    owner, admin, member, bot_admin, bot_limited = drive(fake, body)
    assert isinstance(owner, ChatMemberOwner) and owner.user.id == 1
    assert isinstance(admin, ChatMemberAdministrator)
    assert (
        admin.can_delete_messages and admin.can_restrict_members and not admin.can_promote_members
    )
    assert isinstance(member, ChatMemberMember) and member.user.id == 3
    assert isinstance(bot_admin, ChatMemberAdministrator) and bot_admin.user.is_bot
    assert bot_admin.can_delete_messages and bot_admin.can_restrict_members
    assert isinstance(bot_limited, ChatMemberAdministrator)
    assert not bot_limited.can_delete_messages and bot_limited.can_restrict_members
    with pytest.raises(ValueError, match="bad member"):
        fake.set_member(CHAT, 9, "member", can_delete_messages=True)


def test_restrict_is_recorded_and_reflected(fake: FakeBotApi) -> None:
    perms = ChatPermissions(can_send_messages=False, can_send_photos=False)

    async def body(bot: Bot) -> Any:
        assert await bot.restrict_chat_member(CHAT, USER, perms, until_date=2_000_000_000)
        return await bot.get_chat_member(CHAT, USER)

    member = drive(fake, body)
    assert isinstance(member, ChatMemberRestricted) and not member.can_send_photos
    [restriction] = fake.restricted
    assert restriction["chat_id"] == CHAT and restriction["user_id"] == USER
    assert restriction["until_date"] == 2_000_000_000
    assert restriction["permissions"] == {"can_send_messages": False, "can_send_photos": False}


def test_get_chat_and_administrators(fake: FakeBotApi) -> None:
    fake.set_member(CHAT, 1, "creator")
    fake.set_member(CHAT, 2, "administrator", can_delete_messages=True)
    fake.set_member(CHAT, 3, "restricted", can_send_messages=True)

    async def body(bot: Bot) -> tuple[ChatFullInfo, list[int]]:
        admins = await bot.get_chat_administrators(CHAT)
        return await bot.get_chat(CHAT), sorted(m.user.id for m in admins)

    chat, admins = drive(fake, body)
    assert (chat.id, chat.type, chat.title) == (CHAT, "supergroup", "Test group")
    assert admins == [1, 2, fake.bot_id]


def test_send_message_with_keyboard_then_edit(fake: FakeBotApi) -> None:
    fake.push(fake.text_update(CHAT, 3, USER, "report"))
    button = InlineKeyboardButton(text="Remove", callback_data="rm:3")
    markup = InlineKeyboardMarkup(inline_keyboard=[[button]])

    async def body(bot: Bot) -> tuple[Message, Message | bool]:
        sent = await bot.send_message(CHAT, "Flagged", reply_markup=markup, reply_to_message_id=3)
        await bot.send_message(CHAT, "second")
        edited = await bot.edit_message_text("Removed", chat_id=CHAT, message_id=sent.message_id)
        with pytest.raises(TelegramBadRequest, match="not modified"):
            await bot.edit_message_text("Removed", chat_id=CHAT, message_id=sent.message_id)
        return sent, edited

    sent, edited = drive(fake, body)
    assert sent.message_id == 100000 and sent.from_user and sent.from_user.id == fake.bot_id
    assert sent.reply_markup and sent.reply_markup.model_dump() == markup.model_dump()
    assert sent.reply_to_message
    assert sent.reply_to_message.message_id == 3
    assert [s["message_id"] for s in fake.sent] == [100000, 100001]
    assert fake.sent[0]["reply_markup"] == {
        "inline_keyboard": [[{"text": "Remove", "callback_data": "rm:3"}]]
    }
    assert isinstance(edited, Message) and edited.text == "Removed" and edited.edit_date
    assert fake.edited[0]["text"] == "Removed"


def test_wrong_token_unknown_and_unmodelled_methods(fake: FakeBotApi) -> None:
    with pytest.raises(TelegramUnauthorizedError):
        drive(fake, lambda bot: bot.get_me(), token="999:WRONG")
    assert drive(fake, lambda bot: bot.set_my_commands([])) is True
    request = urllib.request.Request(f"{fake.base_url}/bot{fake.token}/noSuchMethod", b"")
    with pytest.raises(urllib.error.HTTPError) as error:
        urllib.request.urlopen(request)
    assert error.value.code == 404 and json.load(error.value)["description"] == "Not Found"
    error.value.close()
    assert [(c.method, c.status) for c in fake.calls] == [
        ("getMe", 401),
        ("setMyCommands", 200),
        ("noSuchMethod", 404),
    ]


def test_json_and_query_string_requests(fake: FakeBotApi) -> None:
    fake.text_update(CHAT, 4, USER, "x")
    body = json.dumps({"chat_id": CHAT, "message_id": 4}).encode()
    headers = {"Content-Type": "application/json"}
    url = f"{fake.base_url}/bot{fake.token}/deletemessage"
    with urllib.request.urlopen(urllib.request.Request(url, body, headers)) as response:
        assert json.load(response) == {"ok": True, "result": True}
    with urllib.request.urlopen(f"{fake.base_url}/bot{fake.token}/getMe?x=1") as response:
        assert json.load(response)["result"]["id"] == fake.bot_id
    assert fake.deleted == {(CHAT, 4)} and fake.calls[0].method == "deleteMessage"


def test_dropped_connection_is_not_applied(fake: FakeBotApi) -> None:
    fake.text_update(CHAT, 9, USER, "x")
    seen: list[Call] = []

    def drop(call: Call) -> None:
        seen.append(call)
        raise DropConnection

    fake.on_call("deleteMessage", drop)
    with pytest.raises(TelegramNetworkError):
        drive(fake, lambda bot: bot.delete_message(CHAT, 9))
    assert fake.deleted == set()
    assert seen[0].params == {"chat_id": CHAT, "message_id": 9} and seen[0].status == 200
    assert fake.calls_to("deleteMessage")[0].status == 0


def test_webhook_calls(fake: FakeBotApi) -> None:
    fake.push(fake.text_update(CHAT, 1, USER, "pending"))

    async def body(bot: Bot) -> None:
        await bot.set_webhook(
            "https://example.test/hook", secret_token="s", allowed_updates=["message"]
        )
        info = await bot.get_webhook_info()
        assert info.url == "https://example.test/hook" and info.pending_update_count == 1
        with pytest.raises(TelegramConflictError):
            await bot(GetUpdates(timeout=0))
        assert await bot.delete_webhook(drop_pending_updates=True)
        assert (await bot.get_webhook_info()).url == ""
        assert await bot(GetUpdates(timeout=0)) == []

    drive(fake, body)
    assert fake.webhook is None
    assert fake.calls_to("setWebhook")[0].params["allowed_updates"] == ["message"]


def test_wait_for_times_out_with_a_summary(fake: FakeBotApi) -> None:
    drive(fake, lambda bot: bot.get_me())
    started = time.monotonic()
    with pytest.raises(AssertionError, match=r"getMe->200"):
        fake.wait_for(lambda f: bool(f.deleted), timeout=0.1)
    assert time.monotonic() - started < 1
    fake.wait_for(lambda f: len(f.calls) == 1)


def test_builders_validate_as_aiogram_updates(fake: FakeBotApi) -> None:
    photo = fake.photo_update(CHAT, 1, USER, b"p" * 64, caption="c", media_group_id="g1")
    document = fake.document_update(CHAT, 2, USER, b"d" * 64, caption="doc")
    sticker = fake.sticker_update(CHAT, 3, USER, b"RIFF....WEBP", chat_type="group")
    video_sticker = fake.sticker_update(CHAT, 4, USER, b"webm", is_video=True)
    entities = [{"type": "url", "offset": 0, "length": 3}]
    reply = fake.text_update(CHAT, 5, USER, "abc", entities=entities, reply_to=photo["message"])
    private = fake.text_update(USER, 6, USER, "hello", chat_type="private")
    edited = fake.photo_update(CHAT, 1, USER, b"p" * 64, edited=True)
    edited_text = fake.text_update(CHAT, 5, USER, "abcd", edited=True)
    callback = fake.callback_update(CHAT, 100000, USER, "rm:1")
    joined = fake.my_chat_member_update(CHAT, USER)
    demoted = fake.my_chat_member_update(CHAT, USER, new_status="member")
    builders = [photo, document, sticker, video_sticker, reply, private, edited, edited_text]
    for raw in [*builders, callback, joined, demoted]:
        fake.push(raw)
        update = Update.model_validate(raw)
        assert update.update_id == raw["update_id"] and update.event_type != "unknown"
    parsed = Update.model_validate(reply).message
    assert parsed and parsed.reply_to_message and parsed.reply_to_message.photo
    assert Update.model_validate(edited).edited_message.edit_date  # type: ignore[union-attr]
    assert Update.model_validate(private).message.chat.first_name  # type: ignore[union-attr]
    assert Update.model_validate(callback).callback_query.data == "rm:1"  # type: ignore[union-attr]
    assert joined["my_chat_member"]["old_chat_member"]["status"] == "left"
    assert demoted["my_chat_member"]["new_chat_member"]["status"] == "member"
    assert document["message"]["document"]["thumbnail"]["file_id"]
    assert sticker["message"]["sticker"]["file_size"] == 12
