"""The bot's parts without a server: what of a message is scanned, its settings, the durable
inbox and chat stores (SQLite and PostgreSQL), the webhook outbox's claims, the notices."""

from __future__ import annotations

import json
from datetime import timedelta
from typing import Any

import pytest
from aiogram.types import Message

from fake_bot_api import FakeBotApi
from shieldwall.adapters.telegram import BotConfig
from shieldwall.adapters.telegram.content import content_key, media_of, text_of
from shieldwall.adapters.telegram.notices import message_link, removal_notice
from shieldwall.domain import ChatMode, InvalidArgumentError, Verdict
from shieldwall.engine import Runtime
from shieldwall.settings import Settings
from shieldwall.storage import OutboxStore, Strike, TelegramChats, TelegramInbox
from telegram_support import GROUP, MEMBER

TOKEN = "123456:ABCdefGHIjklMNOpqrSTUvwxYZ"


def message(update: dict[str, Any]) -> Message:
    return Message.model_validate(update.get("message") or update["edited_message"])


@pytest.fixture(scope="module")
def fake() -> FakeBotApi:
    return FakeBotApi()  # builders only: never started


def test_largest_photo_documents_and_static_stickers_are_scanned(fake: FakeBotApi) -> None:
    photo = message(fake.photo_update(GROUP, 1, MEMBER, b"x" * 4000))
    media = media_of(photo)
    assert media is not None and media.kind == "photo"
    assert media.file_id == photo.photo[-1].file_id if photo.photo else False
    png = media_of(message(fake.document_update(GROUP, 2, MEMBER, b"png")))
    assert png is not None and png.kind == "document"
    named = fake.document_update(GROUP, 3, MEMBER, b"x", mime_type="application/octet-stream")
    named["message"]["document"]["file_name"] = "holiday.JPG"
    assert media_of(message(named)) is not None
    pdf = fake.document_update(
        GROUP, 4, MEMBER, b"x", mime_type="application/pdf", file_name="a.pdf"
    )
    assert media_of(message(pdf)) is None
    assert media_of(message(fake.sticker_update(GROUP, 5, MEMBER, b"webp"))) is not None
    assert media_of(message(fake.sticker_update(GROUP, 6, MEMBER, b"t", is_animated=True))) is None
    assert media_of(message(fake.sticker_update(GROUP, 7, MEMBER, b"v", is_video=True))) is None


def test_every_hiding_place_of_text_is_read(fake: FakeBotApi) -> None:
    update = fake.text_update(
        GROUP,
        8,
        MEMBER,
        "click here",
        entities=[{"type": "text_link", "offset": 0, "length": 5, "url": "https://hidden.example"}],
        reply_markup={"inline_keyboard": [[{"text": "Open", "url": "https://button.example"}]]},
    )
    update["message"]["via_bot"] = {
        "id": 9,
        "is_bot": True,
        "first_name": "X",
        "username": "inl_bot",
    }
    update["message"]["forward_origin"] = {
        "type": "channel",
        "date": 1,
        "message_id": 3,
        "chat": {"id": -100777, "type": "channel", "title": "Ads", "username": "adchannel"},
    }
    update["message"]["quote"] = {"text": "quoted words", "position": 0}
    update["message"]["link_preview_options"] = {"url": "https://preview.example"}
    text = text_of(message(update))
    for part in (
        "click here",
        "https://hidden.example",
        "https://button.example",
        "@inl_bot",
        "@adchannel",
        "quoted words",
        "https://preview.example",
    ):
        assert part in text
    caption = fake.photo_update(GROUP, 9, MEMBER, b"x", caption="see @someone")
    assert text_of(message(caption)) == "see @someone"


def test_content_key_changes_with_the_image_or_the_text(fake: FakeBotApi) -> None:
    first = message(fake.photo_update(GROUP, 10, MEMBER, b"a" * 100, caption="hi"))
    again = content_key(media_of(first), text_of(first))
    assert again == content_key(media_of(first), text_of(first))
    assert content_key(media_of(first), "other") != again
    assert content_key(None, "hi") != again


def test_config_refuses_what_cannot_work() -> None:
    with pytest.raises(InvalidArgumentError, match="SHIELDWALL_TELEGRAM_TOKEN"):
        BotConfig.from_settings(Settings())
    with pytest.raises(InvalidArgumentError, match="does not look like a bot token"):
        BotConfig.from_settings(Settings(telegram_token="nope"))  # type: ignore[arg-type]
    web = {"telegram_token": TOKEN, "telegram_webhook_url": "https://bot.example/tg"}
    with pytest.raises(InvalidArgumentError, match="WEBHOOK_SECRET"):
        BotConfig.from_settings(Settings(**web))  # type: ignore[arg-type]
    with pytest.raises(InvalidArgumentError, match="https"):
        BotConfig.from_settings(
            Settings(  # type: ignore[arg-type]
                telegram_token=TOKEN,
                telegram_webhook_url="http://bot.example/tg",
                telegram_webhook_secret="s3cret",
            )
        )
    with pytest.raises(InvalidArgumentError, match="host:port"):
        BotConfig.from_settings(
            Settings(telegram_token=TOKEN, telegram_webhook_listen="8081")  # type: ignore[arg-type]
        )
    config = BotConfig.from_settings(
        Settings(  # type: ignore[arg-type]
            telegram_token=TOKEN,
            telegram_webhook_secret="s3cret",
            telegram_webhook_url="https://bot.example/tg/hook",
            max_image_bytes=1000,
        )
    )
    assert config.webhook_path == "/tg/hook" and config.max_file_bytes == 1000
    assert config.default_mode is ChatMode.DRY_RUN, "a new group starts in dry run by default"


def test_inbox_keeps_updates_until_handled(runtime: Runtime) -> None:
    inbox = TelegramInbox(runtime.engine)
    assert inbox.offset() is None
    assert inbox.add([(5, '{"update_id": 5}'), (6, '{"update_id": 6}')]) == [5, 6]
    assert inbox.add([(6, "{}"), (7, '{"update_id": 7}')]) == [7], "a redelivery is not new"
    assert inbox.offset() == 8
    inbox.finish(5)
    inbox.finish(6, error="boom")
    assert [p.update_id for p in inbox.pending()] == [7]
    assert inbox.pending()[0].attempts == 1, "storing it counts the first attempt"
    assert inbox.attempt(7) == 2 and inbox.attempt(7) == 3
    assert inbox.pending()[0].attempts == 3
    inbox.finish(7)
    assert inbox.prune(timedelta(seconds=-1)) == 2, "all but the newest, which keeps the offset"
    assert inbox.offset() == 8


def test_message_records_resume_and_count_strikes_once(runtime: Runtime) -> None:
    inbox = TelegramInbox(runtime.engine)
    record = inbox.claim(GROUP, 10, "key", 1, MEMBER)
    assert record.state == "received"
    assert inbox.claim(GROUP, 10, "key", 2, MEMBER).id == record.id
    assert inbox.claim(GROUP, 10, "other", 3, MEMBER).id != record.id
    reasons = [{"code": "known_match", "bank": "ncii"}]
    inbox.decide(record.id, scan_id="s1", verdict="block", reasons=reasons, hashes={"md5": "x"})
    assert inbox.strike(record.id, GROUP, MEMBER, 2) == Strike(1, False)
    assert inbox.strike(record.id, GROUP, MEMBER, 2) == Strike(1, False), "counted once"
    second = inbox.claim(GROUP, 11, "key", 4, MEMBER)
    assert inbox.strike(second.id, GROUP, MEMBER, 2) == Strike(2, True)
    assert inbox.strike(second.id, GROUP, MEMBER, 2) == Strike(2, True), "resumes the same"
    third = inbox.claim(GROUP, 12, "key", 5, MEMBER)
    assert inbox.strike(third.id, GROUP, MEMBER, 2) == Strike(3, False), "restricted already"
    inbox.unrestricted(GROUP, MEMBER)
    fourth = inbox.claim(GROUP, 13, "key", 6, MEMBER)
    assert inbox.strike(fourth.id, GROUP, MEMBER, 2) == Strike(4, True), "asked again"
    done = inbox.step(record.id, "delete", "done", forget_hashes=True, finished=True)
    assert done.steps == {"strike": {"count": 1, "restrict": False}, "delete": "done"}
    assert done.hashes is None
    assert done.state == "finished" and done.reasons == reasons
    assert done.created_at is not None
    assert inbox.verdict_counts(GROUP, done.created_at - timedelta(1)) == {"block": 1}


def test_chat_settings(runtime: Runtime) -> None:
    chats = TelegramChats(runtime.engine)
    chat = chats.ensure(GROUP, "Group", ChatMode.DRY_RUN, 3)
    assert (chat.mode, chat.restrict_after, chat.explicit) == (ChatMode.DRY_RUN, 3, None)
    assert chats.ensure(GROUP, "Renamed", ChatMode.ENFORCE).mode is ChatMode.DRY_RUN
    chat = chats.update(
        GROUP, mode=ChatMode.ENFORCE, review_chat_id=-100555, explicit=Verdict.ALLOW
    )
    assert (chat.mode, chat.review_chat_id, chat.explicit) == (
        ChatMode.ENFORCE,
        -100555,
        Verdict.ALLOW,
    )
    assert chats.review_chats() == {-100555}
    chat = chats.update(GROUP, clear_review_chat=True, clear_explicit=True)
    assert chat.review_chat_id is None and chat.explicit is None
    with pytest.raises(InvalidArgumentError, match="restrict_after"):
        chats.update(GROUP, restrict_after=1000)
    with pytest.raises(InvalidArgumentError, match="does not know"):
        chats.update(42, mode=ChatMode.ENFORCE)
    assert chats.set_bot_rights(GROUP, "administrator", True, False).can_delete
    assert chat.scope == f"telegram:{GROUP}"


def test_two_senders_never_claim_one_delivery(runtime: Runtime) -> None:
    first, second = OutboxStore(runtime.engine), OutboxStore(runtime.engine)
    for n in range(6):
        first.enqueue(f"scan-{n}", "https://hooks.example", json.dumps({"n": n}))
    claimed_a = {d.id for d in first.due(limit=4)}
    claimed_b = {d.id for d in second.due(limit=10)}
    assert len(claimed_a) == 4 and len(claimed_b) == 2 and not claimed_a & claimed_b
    assert first.due() == [] and second.due() == [], "leased until the lease ends"
    assert len(first.due(lease_seconds=0)) == 0
    assert len(OutboxStore(runtime.engine).due()) == 0


def test_notices_name_no_one() -> None:
    text = removal_notice(["text_match", "known_match"], 1)
    assert "known abusive images" in text
    assert "3 messages" in removal_notice(["text_match"], 3)
    assert message_link(GROUP, 17) == "https://t.me/c/1234567890/17"
    assert message_link(-4000, 17) is None, "basic groups have no message links"
