"""The Telegram bot, driven through scenarios against a fake Bot API server on loopback: the real
bot (aiogram, our engine, policy and audit log) on SQLite and PostgreSQL.

Images are the bundled CC0 photos and synthetic ones; a "fake" is a bundled photo whose lower
centre was painted over with a flat colour.
"""

from __future__ import annotations

import io
import sys
from collections.abc import Iterator
from pathlib import Path

import numpy as np
import pytest
from aiogram.types import Message
from PIL import Image, ImageOps

from api_support import StandIn
from conftest import synthetic_photo, to_bytes
from fake_bot_api import FakeBotApi
from shieldwall.adapters.telegram.content import content_key, media_of, text_of
from shieldwall.domain import BankKind, ChatMode, verify_chain
from shieldwall.engine import Runtime, open_runtime
from shieldwall.media import copies
from shieldwall.storage import TelegramInbox
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

sys.path.insert(0, str(Path(__file__).resolve().parents[1] / "bench"))
from fakes import FakeSpec, make_fake

KNOWN = "berlin-cathedral.jpg"


@pytest.fixture
def fake() -> Iterator[FakeBotApi]:
    with FakeBotApi() as server:
        yield server


@pytest.fixture
def stand_in() -> StandIn:
    return StandIn(score=0.01)


@pytest.fixture
def runtime(database_url: str, stand_in: StandIn, samples: dict[str, bytes]) -> Iterator[Runtime]:
    """A known bank holding one bundled photo, a text bank of nudify-bot adverts."""
    opened = open_runtime(database_url, classifier=stand_in)
    curator = opened.curator
    curator.create_bank("ncii")
    curator.add_image("ncii", samples[KNOWN], "test")
    curator.create_bank("adverts", BankKind.TEXT)
    curator.add_text("adverts", "@nudify_bot", "test")
    curator.add_text("adverts", "undress any girl", "test")
    try:
        yield opened
    finally:
        opened.close()


def benign(seed: int) -> bytes:
    return to_bytes(synthetic_photo(seed, (640, 480)))


def flat_fake(data: bytes) -> bytes:
    """The photo with its lower centre painted over, re-encoded as Telegram does."""
    image = np.asarray(Image.open(io.BytesIO(data)).convert("RGB"))
    painted = make_fake(image, FakeSpec(0.4, "ellipse", "flat"), image, seed=1)
    return copies.telegram_reencode(Image.fromarray(painted))


def test_known_photo_is_deleted_and_audited_benign_is_left(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    fake.push(fake.photo_update(GROUP, 10, SPAMMER, samples[KNOWN]))
    fake.push(fake.photo_update(GROUP, 11, MEMBER, benign(1)))
    fake.push(fake.photo_update(GROUP, 12, MEMBER, samples["seedling.jpg"]))
    with running_bot(fake, runtime) as bot:
        settle(bot)
    assert deleted_in(fake, GROUP) == {10}
    [notice] = sent_to(fake, GROUP)
    assert (
        notice["text"]
        == "🛡 Shieldwall removed a message because it matched a list of known abusive images."
    )
    assert notice["disable_notification"] is True
    [deleted] = events(runtime, "telegram.deleted")
    assert deleted.payload["chat_id"] == GROUP and deleted.payload["message_id"] == 10
    assert deleted.payload["sender_id"] == SPAMMER and deleted.payload["banks"] == ["ncii"]
    [decided] = [e for e in events(runtime, "scan.decided") if e.subject == deleted.subject]
    assert decided.payload["verdict"] == "block" and decided.payload["reference"] == f"{GROUP}:10"
    assert len(events(runtime, "scan.decided")) == 3
    assert verify_chain(runtime.audit.iter_events()).broken is None
    downloads = set(fake.downloaded)
    assert all(path.startswith("photos/") for path in downloads) and len(downloads) == 3


def test_edited_copies_documents_and_stickers_are_deleted(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    original = Image.open(io.BytesIO(samples[KNOWN]))
    fake.push(
        fake.photo_update(GROUP, 20, SPAMMER, copies.telegram_reencode(ImageOps.mirror(original)))
    )
    fake.push(
        fake.photo_update(
            GROUP, 21, SPAMMER, to_bytes(ImageOps.pad(original, (900, 900), color="black"))
        )
    )
    fake.push(fake.document_update(GROUP, 22, SPAMMER, to_bytes(original, "PNG")))
    fake.push(
        fake.sticker_update(GROUP, 23, SPAMMER, to_bytes(original.resize((512, 380)), "WEBP"))
    )
    fake.push(fake.sticker_update(GROUP, 24, SPAMMER, b"TGS-animation", is_animated=True))
    with running_bot(fake, runtime) as bot:
        settle(bot)
    assert deleted_in(fake, GROUP) == {20, 21, 22, 23}
    assert not any(p.endswith(".tgs") for p in fake.downloaded), "animated stickers are not fetched"


def test_album_with_one_bad_item(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    for message_id, data in ((30, benign(2)), (31, samples[KNOWN]), (32, benign(3))):
        fake.push(fake.photo_update(GROUP, message_id, MEMBER, data, media_group_id="album-1"))
    with running_bot(fake, runtime) as bot:
        settle(bot)
    assert deleted_in(fake, GROUP) == {31}


def test_an_edit_that_swaps_in_a_bad_image(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    fake.push(fake.photo_update(GROUP, 40, MEMBER, benign(4), caption="holiday"))
    with running_bot(fake, runtime) as bot:
        settle(bot)
        assert deleted_in(fake, GROUP) == set()
        edit = fake.photo_update(GROUP, 40, MEMBER, samples[KNOWN], caption="holiday", edited=True)
        fake.push(edit)
        fake.push(dict(edit, update_id=None) | {"update_id": fake.last_update_id + 1})
        settle(bot)
    assert deleted_in(fake, GROUP) == {40}
    assert len(fake.calls_to("deleteMessage")) == 1, "the same edit delivered twice acts once"


def test_obfuscated_nudify_adverts_are_deleted(fake: FakeBotApi, runtime: Runtime) -> None:
    zwsp, cyrillic_o = "\u200b", "\u043e"
    fake.push(
        fake.photo_update(
            GROUP, 50, SPAMMER, benign(5), caption=f"DM t.me/nud{zwsp}ify_b{cyrillic_o}t"
        )
    )
    fake.push(fake.text_update(GROUP, 51, SPAMMER, "U N D R E S S  any girl, free trial"))
    hidden = [{"type": "text_link", "offset": 0, "length": 4, "url": "https://t.me/Nudify_Bot"}]
    fake.push(fake.text_update(GROUP, 52, SPAMMER, "free pics", entities=hidden))
    button = {"inline_keyboard": [[{"text": "Try", "url": "https://t.me/nudify_bot?start=x"}]]}
    fake.push(fake.text_update(GROUP, 53, SPAMMER, "new bot", reply_markup=button))
    fake.push(fake.text_update(GROUP, 54, MEMBER, "my notify bot is down again"))
    with running_bot(fake, runtime) as bot:
        settle(bot)
    assert deleted_in(fake, GROUP) == {50, 51, 52, 53}
    notices = [m["text"] for m in sent_to(fake, GROUP)]
    assert all("nudify" not in text.lower() for text in notices), (
        "a notice never repeats the advert"
    )
    assert "blocked link or phrase" in notices[-1]


def test_a_429_storm_is_waited_out(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    for n in range(4):
        fake.push(fake.photo_update(GROUP, 60 + n, SPAMMER, samples[KNOWN]))
    fake.fail("deleteMessage", 429, times=3, retry_after=1)
    fake.fail("sendMessage", 429, times=2, retry_after=1)
    fake.fail("getFile", 502, times=2)
    fake.fail("getUpdates", 500, times=2)
    with running_bot(fake, runtime) as bot:
        settle(bot, timeout=40)
        stats = bot.retry.stats
    assert deleted_in(fake, GROUP) == {60, 61, 62, 63}
    assert stats.flood_waits == 5 and stats.retries >= 2
    answered = [c for c in fake.calls_to("deleteMessage") if c.status == 200]
    assert len(answered) == 4, "each message deleted once"
    assert len([c for c in fake.calls_to("sendMessage") if c.status == 200]) == 4


def test_dry_run_deletes_nothing_and_reports_with_buttons(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    fake.set_member(GROUP, ADMIN, "administrator")
    fake.set_member(REVIEW_CHAT, ADMIN, "administrator")
    fake.push(fake.photo_update(GROUP, 70, SPAMMER, samples[KNOWN]))
    with running_bot(
        fake, runtime, default_mode=ChatMode.DRY_RUN, review_chat_id=REVIEW_CHAT
    ) as bot:
        settle(bot)
        assert deleted_in(fake, GROUP) == set() and sent_to(fake, GROUP) == []
        [report] = sent_to(fake, REVIEW_CHAT)
        assert "Dry run" in report["text"] and "known bank" in report["text"]
        delete = report["reply_markup"]["inline_keyboard"][0][0]["callback_data"]
        fake.push(fake.callback_update(REVIEW_CHAT, report["message_id"], MEMBER, delete))
        settle(bot)
        assert deleted_in(fake, GROUP) == set(), "members cannot decide"
        fake.push(fake.callback_update(REVIEW_CHAT, report["message_id"], ADMIN, delete))
        settle(bot)
    assert deleted_in(fake, GROUP) == {70}, "an admin's own decision acts, in dry run too"
    [edited] = fake.edited
    assert "Deleted</b> by" in edited["text"]


def test_review_then_allow_puts_the_image_in_this_groups_allow_bank(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    runtime.curator.create_bank("her-photos", BankKind.SOURCE)
    runtime.curator.add_image("her-photos", samples["gateway-of-india.jpg"], "test")
    fake_image = flat_fake(samples["gateway-of-india.jpg"])
    fake.set_member(GROUP, ADMIN, "administrator")
    fake.push(fake.photo_update(GROUP, 80, SPAMMER, fake_image))
    with running_bot(fake, runtime, review_chat_id=REVIEW_CHAT) as bot:
        settle(bot)
        assert deleted_in(fake, GROUP) == set()
        [card] = sent_to(fake, REVIEW_CHAT)
        assert "Review" in card["text"] and "source bank" in card["text"]
        allow = card["reply_markup"]["inline_keyboard"][0][1]["callback_data"]
        fake.push(fake.callback_update(REVIEW_CHAT, card["message_id"], ADMIN, allow))
        settle(bot)
        fake.push(fake.photo_update(GROUP, 81, MEMBER, fake_image))
        fake.push(fake.photo_update(OTHER_GROUP, 82, MEMBER, fake_image))
        settle(bot)
    cards = sent_to(fake, REVIEW_CHAT)
    assert len(cards) == 2 and "message 82" in cards[1]["text"], "allowed in its group only"
    allow_bank = runtime.store.get_bank(f"tg{GROUP}-allow")
    assert allow_bank.kind is BankKind.ALLOW and allow_bank.scope == f"telegram:{GROUP}"
    assert [r.status for r in runtime.reviews.list(None)] == ["allowed", "pending"]


def test_repeat_senders_are_restricted(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    for n in range(3):
        fake.push(fake.photo_update(GROUP, 90 + n, SPAMMER, samples[KNOWN]))
    with running_bot(fake, runtime, restrict_after=2) as bot:
        settle(bot)
    [restricted] = fake.restricted
    assert restricted["user_id"] == SPAMMER
    assert not any(restricted["permissions"].values())
    assert len(events(runtime, "telegram.restricted")) == 1


def test_a_failed_delete_is_recorded_and_reported_once(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    fake.push(fake.photo_update(GROUP, 100, SPAMMER, samples[KNOWN]))
    fake.mark_too_old(GROUP, 100)
    fake.push(fake.photo_update(OTHER_GROUP, 101, SPAMMER, samples[KNOWN]))
    fake.set_member(OTHER_GROUP, fake.bot_id, "member")
    with running_bot(fake, runtime, review_chat_id=REVIEW_CHAT) as bot:
        settle(bot)
    assert deleted_in(fake, GROUP) == set() and len(fake.calls_to("deleteMessage")) == 2
    failed = events(runtime, "telegram.delete_failed")
    assert {e.payload["message_id"] for e in failed} == {100, 101}
    reports = [m["text"] for m in sent_to(fake, REVIEW_CHAT)]
    assert any("48 hours" in text for text in reports)
    assert any("admin rights" in text for text in reports)


def test_a_decision_made_just_before_a_crash_is_not_made_again(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes]
) -> None:
    """The crash came after the scan's audit write and before the bot recorded the decision:
    the restarted bot finds the decision under the record's scan id and acts on it."""
    update = fake.photo_update(GROUP, 110, SPAMMER, samples[KNOWN])
    update_id = fake.push(update)
    message = Message.model_validate(update["message"])
    record = TelegramInbox(runtime.engine).claim(
        GROUP, 110, content_key(media_of(message), text_of(message)), update_id, SPAMMER
    )
    runtime.moderator.scan(samples[KNOWN], source="t", reference="r", scan_id=record.scan_id)
    with running_bot(fake, runtime) as bot:
        settle(bot)
    assert deleted_in(fake, GROUP) == {110}
    [decided] = events(runtime, "scan.decided")
    assert decided.subject == record.scan_id
    [deleted] = events(runtime, "telegram.deleted")
    assert deleted.subject == record.scan_id and deleted.payload["banks"] == ["ncii"]


def test_no_image_bytes_are_stored(
    fake: FakeBotApi, runtime: Runtime, samples: dict[str, bytes], database_url: str
) -> None:
    """The inbox keeps updates (file ids, captions), never the files; nor does anything else."""
    if not database_url.startswith("sqlite"):
        pytest.skip("reads the SQLite files themselves")
    photos = [samples[KNOWN], benign(7), flat_fake(samples["seedling.jpg"])]
    for n, data in enumerate(photos):
        fake.push(fake.photo_update(GROUP, 120 + n, MEMBER, data, caption="look"))
    with running_bot(fake, runtime, review_chat_id=REVIEW_CHAT) as bot:
        settle(bot)
    path = Path(database_url.removeprefix("sqlite:///"))
    stored = b"".join(p.read_bytes() for p in path.parent.glob(path.name + "*"))
    assert stored, "the database files were found"
    for data in photos:
        for start in range(0, len(data) - 64, len(data) // 8):
            assert data[start : start + 64] not in stored
