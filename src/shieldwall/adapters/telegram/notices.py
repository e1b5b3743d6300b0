"""Every text the bot writes (HTML). Group notices are short and neutral: no image, no name of
the person targeted, no repeat of a blocked link or bot name (that would advertise it)."""

from __future__ import annotations

from collections.abc import Mapping, Sequence
from html import escape
from typing import Any

from shieldwall.domain import ChatMode, ChatSettings
from shieldwall.engine import Policy

#: Why a message went, as the group is told, by reason code (most serious first).
REMOVAL_WHY = {
    "known_match": "it matched a list of known abusive images",
    "derived_explicit": "it appears to be a fake made from a protected person's photo",
    "derived_unconfirmed": "it appears to be a fake made from a protected person's photo",
    "explicit_no_match": "explicit images are not allowed here",
    "text_match": "it contained a blocked link or phrase",
    "reported": "an admin removed it after a report",
}
PRIVATE_HELP = """<b>Shieldwall</b> removes known abusive images, fakes made from protected photos \
and adverts for "nudify" bots from the groups it moderates.

<b>If someone shares or threatens to share intimate images of you</b>, you do not need to send \
them to anyone, and never to this bot. You can hash the image on your own device with the \
Shieldwall tool (<code>shieldwall hash photo.jpg</code>): only the hash, a short code that cannot \
be turned back into the picture, leaves your device. Give the hash to the admins of a \
Shieldwall service, or use StopNCII.org, so that copies are blocked where they are checked.

<b>To protect your public photos</b> against fakes made from them, ask the operator of a \
Shieldwall service to register those photos (the ones already public, never intimate ones).

Please do not send images here: this bot does not look at what is sent to it in private."""


def message_link(chat_id: int, message_id: int) -> str | None:
    """A link admins can open (supergroups only: basic groups have no message links)."""
    text = str(chat_id)
    if text.startswith("-100"):
        return f"https://t.me/c/{text[4:]}/{message_id}"
    return None


def _where(chat_id: int, title: str, message_id: int) -> str:
    link = message_link(chat_id, message_id)
    place = f"message {message_id} in <b>{escape(title)}</b>"
    return f'<a href="{link}">{place}</a>' if link else place


def _reasons(reasons: Sequence[Mapping[str, Any]]) -> str:
    lines = [f"• {escape(str(r.get('message') or r.get('code')))}" for r in reasons]
    return "\n".join(lines) or "• (no reason recorded)"


def removal_notice(codes: Sequence[str], count: int) -> str:
    why = next((REMOVAL_WHY[c] for c in REMOVAL_WHY if c in codes), "it broke this group's rules")
    if count > 1:
        return f"🛡 Shieldwall removed {count} messages; the last because {why}."
    return f"🛡 Shieldwall removed a message because {why}."


def review_card(
    chat: ChatSettings,
    message_id: int,
    sender: str,
    reasons: Sequence[Mapping[str, Any]],
    *,
    reported_by: str | None = None,
) -> str:
    head = "🔎 <b>Review</b>" + (f" (reported by {escape(reported_by)})" if reported_by else "")
    return (
        f"{head}: {_where(chat.chat_id, chat.title, message_id)} from {escape(sender)}\n"
        f"{_reasons(reasons)}\n"
        "Delete removes it; Allow keeps it and stops this image being flagged here again."
    )


def dry_run_report(
    chat: ChatSettings, message_id: int, sender: str, reasons: Sequence[Mapping[str, Any]]
) -> str:
    return (
        f"🧪 <b>Dry run</b>: would have deleted {_where(chat.chat_id, chat.title, message_id)} "
        f"from {escape(sender)}\n{_reasons(reasons)}\n"
        "Nothing was deleted. When these look right: /shieldwall_set mode enforce in the group."
    )


def decided(card: str, outcome: str, admin: str) -> str:
    return f"{card}\n\n<b>{escape(outcome)}</b> by {escape(admin)}"


def action_failed(chat: ChatSettings, message_id: int, what: str, error: str) -> str:
    hint = ""
    if "right" in error.lower() or "can't be deleted" in error.lower():
        hint = "\nGive Shieldwall the admin rights it needs (Delete messages, Ban users)."
    if "for everyone" in error.lower():
        hint = "\nTelegram lets bots delete messages only in the first 48 hours."
    return (
        f"⚠️ Could not {what} {_where(chat.chat_id, chat.title, message_id)}: {escape(error)}{hint}"
    )


def unscannable(chat: ChatSettings, message_id: int, why: str) -> str:
    return (
        f"⚠️ Could not check the image of {_where(chat.chat_id, chat.title, message_id)}: "
        f"{escape(why)}. Please look at it yourself."
    )


def welcome(chat: ChatSettings) -> str:
    if chat.mode is ChatMode.DRY_RUN:
        mode = (
            "I am in <b>dry run</b>: I delete nothing and tell the review chat what I would "
            "have done. An admin switches me on with /shieldwall_set mode enforce."
        )
    else:
        mode = "I delete known abusive images, fakes and nudify-bot adverts as they arrive."
    return (
        f"🛡 Shieldwall is protecting this group. {mode}\n"
        "Admins: give me the Delete messages right, and set a review chat with "
        "/shieldwall_set review_chat &lt;chat id&gt; (/shieldwall_status there shows its id).\n"
        "Anyone: reply /report to a message that should not be here."
    )


def status(
    chat: ChatSettings,
    banks: Mapping[str, int],
    counts: Mapping[str, int],
    pending_reviews: int,
    is_review_chat: bool,
) -> str:
    lines = [
        f"🛡 <b>Shieldwall</b> in <b>{escape(chat.title)}</b> (chat id <code>{chat.chat_id}</code>)",
        f"Mode: <b>{chat.mode.value}</b>" + ("" if chat.can_delete else " — no Delete right!"),
        f"Protecting against: {banks.get('known', 0)} known images, "
        f"{banks.get('source', 0)} registered photos, {banks.get('text', 0)} blocked links and "
        f"phrases; {banks.get('allow', 0)} allowed images",
        f"Last 7 days: {sum(counts.values())} checked, {counts.get('block', 0)} blocked, "
        f"{counts.get('review', 0)} to review, {counts.get('unscannable', 0)} not checkable",
        "Review chat: "
        + (f"<code>{chat.review_chat_id}</code>" if chat.review_chat_id else "none set")
        + f"; {pending_reviews} reviews open",
    ]
    if is_review_chat:
        lines.append("This chat is a review chat: I do not moderate it.")
    return "\n".join(lines)


def policy(chat: ChatSettings, rules: Policy) -> str:
    restrict = (
        f"restricted after {chat.restrict_after} blocked posts" if chat.restrict_after else "never"
    )
    return "\n".join(
        [
            f"📜 <b>Policy</b> of <b>{escape(chat.title)}</b> ({escape(rules.label)})",
            f"Mode: {chat.mode.value}; senders {restrict}",
            "Known abusive image: block",
            f"Fake made from a protected photo: {rules.derived_explicit.value} when explicit, "
            f"else {rules.derived_unconfirmed.value}",
            f"Explicit image, no bank match: {rules.explicit_without_match.value}",
            f"Blocked link or phrase: {rules.text_match.value}",
            "Images admins allowed on review: allowed here",
            "Change: /shieldwall_set mode enforce|dry-run, review_chat ID|off, "
            "restrict_after N|off, explicit allow|review|block|default",
        ]
    )
