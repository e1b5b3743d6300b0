"""What of a Telegram message is scanned: its image, and every place it can carry text.

Image: the largest size of a photo, a document whose type or name says image, a static sticker
(WebP). Animated (TGS) and video stickers, animations and videos are not scanned (no video
hashing yet). Text: the text or caption, the targets of hidden links (``text_link`` entities),
the URLs of inline-keyboard buttons, the inline bot a message was sent via, where a forward
came from, a quoted reply, a link preview's URL and a poll's question and options: adverts for
nudify bots put their link wherever a word filter does not look.
"""

from __future__ import annotations

import hashlib
from collections.abc import Iterator
from dataclasses import dataclass

from aiogram.types import (
    Message,
    MessageOriginChannel,
    MessageOriginChat,
    MessageOriginHiddenUser,
    MessageOriginUser,
)

#: File name endings of documents scanned as images when Telegram gives no image MIME type.
IMAGE_SUFFIXES = (".jpg", ".jpeg", ".png", ".webp", ".gif", ".bmp", ".tif", ".tiff")


@dataclass(frozen=True, slots=True)
class MediaRef:
    """An image of a message, by Telegram's ids (the file itself is fetched only to scan it)."""

    kind: str  # photo, document, sticker
    file_id: str
    file_unique_id: str
    file_size: int | None


def media_of(message: Message) -> MediaRef | None:
    if message.photo:
        largest = max(message.photo, key=lambda p: (p.width * p.height, p.file_size or 0))
        return MediaRef("photo", largest.file_id, largest.file_unique_id, largest.file_size)
    document = message.document
    if document is not None:
        mime = (document.mime_type or "").lower()
        name = (document.file_name or "").lower()
        if mime.startswith("image/") or name.endswith(IMAGE_SUFFIXES):
            return MediaRef(
                "document", document.file_id, document.file_unique_id, document.file_size
            )
    sticker = message.sticker
    if sticker is not None and not sticker.is_animated and not sticker.is_video:
        return MediaRef("sticker", sticker.file_id, sticker.file_unique_id, sticker.file_size)
    return None


def text_of(message: Message) -> str:
    """Every piece of text the message carries, one per line ("" when it has none)."""
    return "\n".join(part for part in _parts(message) if part)


def _parts(message: Message) -> Iterator[str | None]:
    yield message.text
    yield message.caption
    for entity in (message.entities or []) + (message.caption_entities or []):
        yield entity.url  # text_link: the hidden target behind visible words
    markup = message.reply_markup
    if markup is not None:
        for row in markup.inline_keyboard:
            for button in row:
                yield button.text
                yield button.url
                yield button.login_url.url if button.login_url else None
                yield button.web_app.url if button.web_app else None
    if message.via_bot is not None and message.via_bot.username:
        yield f"@{message.via_bot.username}"
    origin = message.forward_origin
    if isinstance(origin, MessageOriginChannel | MessageOriginChat):
        chat = origin.chat if isinstance(origin, MessageOriginChannel) else origin.sender_chat
        yield f"@{chat.username}" if chat.username else None
        yield chat.title
    elif isinstance(origin, MessageOriginUser) and origin.sender_user.username:
        yield f"@{origin.sender_user.username}"
    elif isinstance(origin, MessageOriginHiddenUser):
        yield origin.sender_user_name
    if message.quote is not None:
        yield message.quote.text
    if message.link_preview_options is not None:
        yield message.link_preview_options.url
    if message.poll is not None:
        yield message.poll.question
        for option in message.poll.options:
            yield option.text


def content_key(media: MediaRef | None, text: str) -> str:
    """Names one content of a message: an edit that swaps the image or changes the text is a
    new content (scanned again); a redelivery of the same one is not."""
    unique = media.file_unique_id if media is not None else ""
    return hashlib.sha256(f"{unique}\0{text}".encode()).hexdigest()[:32]
