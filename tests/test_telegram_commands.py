"""The bot's commands, reports, membership, private chats, webhook mode and images it cannot
check, against the fake Bot API (SQLite and PostgreSQL)."""

from __future__ import annotations

import asyncio
import socket
from collections.abc import Iterator
from typing import Any

import aiohttp
import pytest

from conftest import synthetic_photo, to_bytes
from fake_bot_api import FakeBotApi
from shieldwall.domain import BankKind
from shieldwall.engine import Runtime, open_runtime
from shieldwall.storage import TelegramChats
from telegram_support import (
    ADMIN,
    GROUP,
    MEMBER,
    OTHER_GROUP,
    REVIEW_CHAT,
    SPAMMER,
    deleted_in,
    events,
    running_bot,
    sent_to,
    settle,
)

KNOWN = "berlin-cathedral.jpg"


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        server.set_member(GROUP, ADMIN, "administrator")
        server.set_member(REVIEW_CHAT, ADMIN, "administrator")
        yield server


@pytest.fixture
def runtime(database_url: str, samples: dict[str, bytes]) -> Iterator[Runtime]:
    opened = open_runtime(database_url)
    opened.curator.create_bank("ncii")
    opened.curator.add_image("ncii", samples[KNOWN], "test")
    opened.curator.create_bank("adverts", BankKind.TEXT)
    opened.curator.add_text("adverts", "@nudify_bot", "test")
    try:
        yield opened
    finally:
        opened.close()


def say(fake: FakeBotApi, who: int, text: str, chat: int = GROUP, **extra: Any) -> int:
    message_id = 1000 + fake.last_update_id
    fake.push(fake.text_update(chat, message_id, who, text, **extra))
    return message_id


def replies(fake: FakeBotApi, chat: int = GROUP) -> list[str]:
    return [m["text"] for m in sent_to(fake, chat)]


def test_admins_set_the_group_up(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    with running_bot(fake, runtime) as bot:
        say(fake, MEMBER, "/shieldwall_status")
        say(fake, MEMBER, "/policy")
        say(fake, ADMIN, "/policy@shieldwall_test_bot")
        say(fake, ADMIN, "/policy@some_other_bot")
        settle(bot)
        say(fake, ADMIN, "/shieldwall_set colour red")
        say(fake, ADMIN, "/shieldwall_set restrict_after 2")
        say(fake, ADMIN, "/shieldwall_set explicit allow")
        say(fake, ADMIN, f"/shieldwall_set review_chat {REVIEW_CHAT}")
        settle(bot)
        texts = replies(fake)  # commands of different messages run concurrently: any order
        [status] = [t for t in texts if "Mode: <b>" in t]
        assert "Mode: <b>enforce</b>" in status and f"<code>{GROUP}</code>" in status
        assert "1 known images" in status and "1 blocked links" in status
        assert "Only admins of this group can use /policy." in texts
        [policy] = [t for t in texts if t.startswith("📜")]
        assert "Explicit image, no bank match: review" in policy
        assert sum(t.startswith("Usage: /shieldwall_set") for t in texts) == 1
        assert {t for t in texts if t.startswith("Done")} == {
            "Done: restrict_after is now 2.",
            "Done: explicit is now allow.",
            f"Done: review_chat is now {REVIEW_CHAT}.",
        }
        assert len(texts) == 7, "a command for another bot is not answered"
        assert "now gets Shieldwall's reviews" in replies(fake, REVIEW_CHAT)[0]
        chat = TelegramChats(runtime.engine).get(GROUP)
        assert chat is not None and (chat.restrict_after, chat.review_chat_id) == (2, REVIEW_CHAT)
        assert len(events(runtime, "telegram.settings_changed")) == 3
        # The review chat is the admins' own: it is not moderated.
        fake.push(fake.photo_update(REVIEW_CHAT, 5, ADMIN, samples[KNOWN]))
        say(fake, ADMIN, "/shieldwall_set mode dry-run")
        settle(bot)
        fake.push(fake.photo_update(GROUP, 6, SPAMMER, samples[KNOWN]))
        settle(bot)
    assert fake.deleted == set(), "review chat untouched; dry run deletes nothing"
    assert any("Dry run" in text for text in replies(fake, REVIEW_CHAT))


def test_a_review_chat_needs_an_admin_there(fake: FakeBotApi, runtime: Runtime) -> None:
    fake.set_member(REVIEW_CHAT, ADMIN, "member")
    with running_bot(fake, runtime) as bot:
        say(fake, ADMIN, f"/shieldwall_set review_chat {REVIEW_CHAT}")
        say(fake, ADMIN, f"/shieldwall_set review_chat {GROUP}")
        settle(bot)
    assert sorted(replies(fake)) == [
        "Only an admin of that chat can make it the review chat.",
        "The review chat must be another chat (the admins' own).",
    ]


def test_group_blocklists(fake: FakeBotApi, runtime: Runtime) -> None:
    with running_bot(fake, runtime, review_chat_id=REVIEW_CHAT) as bot:
        command = say(fake, ADMIN, "/blocktext @evil_undress_bot")
        settle(bot)
        advert = say(fake, MEMBER, "write to @Evil_Undress_Bot")
        say(fake, MEMBER, "write to @evil_undress_bot", chat=OTHER_GROUP)
        members_try = say(fake, MEMBER, "/blocktext hello there friends")
        rides_on_a_command = say(fake, SPAMMER, "/start t.me/nudify_bot")
        settle(bot)
        say(fake, ADMIN, "/blocklist")
        settle(bot)
        unblock = say(fake, ADMIN, "/unblocktext t.me/evil_undress_bot")
        short = say(fake, ADMIN, "/blocktext @ab")
        settle(bot)
        after = say(fake, MEMBER, "write to @evil_undress_bot")
        settle(bot)
    tidied = {command, unblock, short}  # an admin's commands repeat the pattern: removed
    assert deleted_in(fake, GROUP) == {advert, rides_on_a_command} | tidied
    assert deleted_in(fake, OTHER_GROUP) == set(), "a group's list applies to that group only"
    assert after not in deleted_in(fake, GROUP) and members_try not in deleted_in(fake, GROUP)
    texts = replies(fake)
    assert texts[0] == "Blocked in this group (username, entry 3)."
    assert "Only admins of this group can use /blocktext." in texts
    assert "Unblocked (1 entries)." in texts
    assert any("too short to block safely" in t for t in texts)
    [listing] = [t for t in replies(fake, REVIEW_CHAT) if t.startswith("Blocked in")]
    assert "<code>@evil_undress_bot</code>" in listing
    assert all("evil_undress" not in t for t in texts), "the group is never shown the pattern"


def test_members_report_messages(fake: FakeBotApi, runtime: Runtime) -> None:
    photo = fake.photo_update(GROUP, 50, SPAMMER, to_bytes(synthetic_photo(3)))
    fake.push(photo)
    with running_bot(fake, runtime, review_chat_id=REVIEW_CHAT) as bot:
        settle(bot)
        first = say(fake, MEMBER, "/report", reply_to=photo["message"])
        second = say(fake, ADMIN, "/report", reply_to=photo["message"])
        say(fake, MEMBER, "/report")
        settle(bot)
    [card] = [m for m in sent_to(fake, REVIEW_CHAT) if "Review" in m["text"]]
    assert "reported by User5151" in card["text"] and "message 50" in card["text"]
    assert card["reply_markup"]["inline_keyboard"][0][0]["text"] == "🗑 Delete"
    assert {first, second} <= deleted_in(fake, GROUP) and 50 not in deleted_in(fake, GROUP)
    assert replies(fake).count("Thank you: the admins have been told.") == 2
    assert "Reply /report to the message that should not be here." in replies(fake)
    assert len(events(runtime, "telegram.reported")) == 1
    [item] = runtime.reviews.list()
    assert item.source == f"telegram:{GROUP}:50"


def test_private_chats_get_help_and_nothing_is_downloaded(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    with running_bot(fake, runtime) as bot:
        say(fake, MEMBER, "hello", chat=MEMBER, chat_type="private")
        settle(bot)
        fake.push(fake.photo_update(MEMBER, 2, MEMBER, samples[KNOWN], chat_type="private"))
        settle(bot)
        say(fake, MEMBER, "/start", chat=MEMBER, chat_type="private")
        settle(bot)
    answers = replies(fake, MEMBER)
    assert len(answers) == 2, "help once, then again only when asked"
    assert "shieldwall hash" in answers[0] and "do not send images" in answers[0]
    assert fake.calls_to("getFile") == [] and fake.deleted == set()


def test_joining_a_group(fake: FakeBotApi, runtime: Runtime) -> None:
    with running_bot(fake, runtime) as bot:
        fake.push(fake.my_chat_member_update(OTHER_GROUP, ADMIN, new_status="administrator"))
        settle(bot)
    [welcome] = replies(fake, OTHER_GROUP)
    assert "Shieldwall is protecting this group" in welcome
    chat = TelegramChats(runtime.engine).get(OTHER_GROUP)
    assert chat is not None and chat.bot_status == "administrator"
    [joined] = events(runtime, "telegram.membership")
    assert joined.actor == f"telegram:user:{ADMIN}"


def test_images_that_cannot_be_checked_are_reported(fake: FakeBotApi, runtime: Runtime) -> None:
    big = fake.document_update(GROUP, 60, SPAMMER, b"x" * 5000, mime_type="image/png")
    fake.push(big)
    fake.push(fake.photo_update(GROUP, 61, SPAMMER, b"\xff\xd8\xff\xe0 not really a jpeg"))
    corrupt_advert = fake.photo_update(GROUP, 62, SPAMMER, b"garbage", caption="@nudify_bot")
    fake.push(corrupt_advert)
    with running_bot(fake, runtime, review_chat_id=REVIEW_CHAT, max_file_bytes=4000) as bot:
        settle(bot)
    reports = replies(fake, REVIEW_CHAT)
    assert any("message 60" in r and "too_large" in r for r in reports)
    assert any("message 61" in r and "not a readable image" in r for r in reports)
    assert deleted_in(fake, GROUP) == {62}, "its caption still counts"
    asked = {c.params["file_id"] for c in fake.calls_to("getFile")}
    assert big["message"]["document"]["file_id"] not in asked, "too large: never fetched"
    assert not any(p.endswith(".png") for p in fake.downloaded)


def test_an_update_delivered_twice_is_handled_once(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    update = fake.photo_update(GROUP, 70, SPAMMER, samples[KNOWN])
    update_id = fake.push(update)
    fake.push(dict(update, update_id=update_id))
    fake.push(dict(update, update_id=update_id + 5))  # the same message under a new id
    with running_bot(fake, runtime) as bot:
        settle(bot)
    assert len(fake.calls_to("deleteMessage")) == 1
    assert len(events(runtime, "scan.decided")) == 1


def free_port() -> int:
    with socket.socket() as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


def test_webhook_mode_checks_the_secret_token(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    port = free_port()
    update = fake.photo_update(GROUP, 80, SPAMMER, samples[KNOWN]) | {"update_id": 9001}
    url = f"http://127.0.0.1:{port}/tg/hook"

    async def post(secret: str | None, body: object) -> int:
        headers = {"X-Telegram-Bot-Api-Secret-Token": secret} if secret else {}
        async with (
            aiohttp.ClientSession() as session,
            session.post(url, json=body, headers=headers) as response,
        ):
            return response.status

    with running_bot(
        fake,
        runtime,
        webhook_url="https://bot.example/tg/hook",
        webhook_secret="s3cret-token",
        webhook_port=port,
    ):
        fake.wait_for(lambda f: f.webhook is not None)
        assert fake.webhook is not None and fake.webhook["secret_token"] == "s3cret-token"
        assert asyncio.run(post(None, update)) == 401
        assert asyncio.run(post("wrong", update)) == 401
        assert asyncio.run(post("s3cret-token", {"not": "an update"})) == 400
        assert asyncio.run(post("s3cret-token", update)) == 200
        assert asyncio.run(post("s3cret-token", update)) == 200, "a resend is acknowledged"
        fake.wait_for(lambda f: (GROUP, 80) in f.deleted)
    assert len(fake.calls_to("deleteMessage")) == 1 and fake.calls_to("getUpdates") == []
