#!/usr/bin/env python3
"""Writes Tests/EmbedKitTests/Fixtures/charsets/: one document per legacy encoding, encoded by Python's codecs.

Python's codecs are an encoder independent of glibc's iconv, which the decoder under test uses, so the round
trip checks iconv's tables and our corrections to them rather than iconv against itself. Each text is written
in the encoding's own script. manifest.json lists every file with the format, the label it declares, the
encoding name the decoder must report, and the exact UTF-8 text decoding must give. Run it again after changing
a text; the files are committed.
"""
import json
import os

OUT = os.path.join(os.path.dirname(os.path.abspath(__file__)), "..", "Tests", "EmbedKitTests", "Fixtures", "charsets")

RUSSIAN = "Съешь же ещё этих мягких французских булок, да выпей чаю. Ёлка №5"
UKRAINIAN = "Чуєш їх, доцю, га? Кумедна ж ти, прощайся без ґольфів! Ґанок і Їжак"
GREEK = "Ξεσκεπάζω την ψυχοφθόρα βδελυγμία. Ά, Ώ, ϊ"
HEBREW = "שלום עולם, זוהי בדיקה של עברית."
ARABIC = "مرحبا بالعالم، هذه تجربة للنص العربي؛ هل تعمل؟"
JAPANESE = "日本語のテキストです。カタカナ、ひらがな、漢字を含みます。"
HALF_WIDTH_KANA = "ｶﾀｶﾅ"

# (label declared, Python codec, name the decoder reports, text, XML too)
CASES = [
    ("ibm866", "cp866", "IBM866", RUSSIAN, True),
    ("iso-8859-2", "iso8859_2", "ISO-8859-2", "Zażółć gęślą jaźń. Příliš žluťoučký kůň úpěl ďábelské ódy.", True),
    ("iso-8859-3", "iso8859_3", "ISO-8859-3", "Il-Ħadd ġie ż-żmien. Ĉiuĵaŭde ŝi manĝas ĝis la ĥoro.", True),
    ("iso-8859-4", "iso8859_4", "ISO-8859-4", "Ģimenē ķēniņš ēda; ąžuolas, ųįę, Ŗīga, ŧŋ.", True),
    ("iso-8859-5", "iso8859_5", "ISO-8859-5", RUSSIAN.replace("№", "No") + " Љубав, Ђурђевдан.", True),
    ("iso-8859-6", "iso8859_6", "ISO-8859-6", ARABIC, True),
    ("iso-8859-7", "iso8859_7", "ISO-8859-7", GREEK + " €", True),
    ("iso-8859-8", "iso8859_8", "ISO-8859-8", HEBREW, True),
    ("iso-8859-8-i", "iso8859_8", "ISO-8859-8-I", HEBREW, False),
    ("iso-8859-10", "iso8859_10", "ISO-8859-10", "Sæll og blessaður, Þórður. Ŋ, ŧ, ū, ķ, ļ.", True),
    ("iso-8859-13", "iso8859_13", "ISO-8859-13", "Įlinkę žąsys ėjo į ūkį; ļoti „labi“.", True),
    ("iso-8859-14", "iso8859_14", "ISO-8859-14", "Mae'r ŵyn yn y gŵydd; ŷ, ẃ, ỳ, ḃ, ċ.", True),
    ("iso-8859-15", "iso8859_15", "ISO-8859-15", "Œuvre à 10 €, cœur, Ÿ, Š, Ž.", True),
    ("iso-8859-16", "iso8859_16", "ISO-8859-16", "Știință și țară; înțelegere, Ăă.", True),
    ("koi8-r", "koi8_r", "KOI8-R", RUSSIAN.replace("№", "No"), True),
    ("koi8-u", "koi8_u", "KOI8-U", UKRAINIAN, True),
    ("macintosh", "mac_roman", "macintosh", "Café, naïve, ß, ∆ (0xC6), © and € (0xDB).", True),
    ("x-mac-cyrillic", "mac_cyrillic", "x-mac-cyrillic", UKRAINIAN + " €", True),
    ("windows-874", "cp874", "windows-874", "สวัสดีชาวโลก นี่คือการทดสอบ… €", True),
    ("windows-1250", "cp1250", "windows-1250", "„Příliš žluťoučký kůň“ – zażółć gęślą jaźń.", True),
    ("windows-1251", "cp1251", "windows-1251", "«" + RUSSIAN + "» — Ґ, ї", True),
    ("windows-1252", "cp1252", "windows-1252", "Größe, naïve “quotes” — 10 € … Œ.", True),
    ("iso-8859-1", "cp1252", "windows-1252", "HTML reads Latin-1 as Windows-1252: “quotes” — €.", False),
    ("windows-1253", "cp1253", "windows-1253", GREEK + " “€”", True),
    ("windows-1254", "cp1254", "windows-1254", "Pijamalı hasta yağız şoföre çabucak güvendi. İı Ğğ Şş", True),
    # Points as separate characters, as the Encoding Standard decodes them (glibc's converter would compose).
    ("windows-1255", "cp1255", "windows-1255", "שָׁלוֹם עוֹלָם — ₪", True),
    ("windows-1256", "cp1256", "windows-1256", ARABIC + " گ پ چ ژ", True),
    ("windows-1257", "cp1257", "windows-1257", "Ąžuolas ėjo; Rīga, Ļ, „ū“.", True),
    # Vietnamese with the tone marks as combining characters (how windows-1258 stores most of them).
    ("windows-1258", "cp1258", "windows-1258",
     "Ti\u00ea\u0301ng Vi\u00ea\u0323t c\u00f3 d\u00e2\u0301u; \u01b0\u01a1 \u0111 \u20ab", True),
    ("gbk", "gbk", "GBK", "中文测试：你好，世界。这是一个编码测试。", True),
    ("gb2312", "gbk", "GBK", "简体中文：天气很好。", False),
    # Not ḿ: Python encodes it as GB18030-2000 did (0x8135F437), glibc and the standard read 0xA8BC as ḿ.
    ("gb18030", "gb18030", "gb18030", "中文测试：𠀀、€、ㄅ 都在 GB18030 里。", True),
    ("big5", "big5hkscs", "Big5", "繁體中文測試：你好，世界。這是香港。", True),
    ("euc-jp", "euc_jp", "EUC-JP", JAPANESE + HALF_WIDTH_KANA, True),
    ("shift_jis", "shift_jis", "Shift_JIS", JAPANESE + HALF_WIDTH_KANA + " \\ ~", True),
    ("iso-2022-jp", "iso2022_jp", "ISO-2022-JP", JAPANESE, True),
    # 똠 is outside KS X 1001: only the Windows superset, which the standard's EUC-KR is, has it.
    ("euc-kr", "cp949", "EUC-KR", "한국어 텍스트입니다. 안녕하세요, 세계! 똠방각하", True),
]

# Text files: only a byte-order mark says what they are.
PLAIN = [
    ("utf-8.txt", "utf-8", "UTF-8"),
    ("utf-8-bom.txt", "utf-8-sig", "UTF-8"),
    ("utf-16le-bom.txt", "utf-16-le", "UTF-16LE"),
    ("utf-16be-bom.txt", "utf-16-be", "UTF-16BE"),
]
PLAIN_TEXT = "Mixed scripts: Ελληνικά, Русский, 日本語, 한국어, עברית, العربية, ไทย, 𝄞.\n"


def html(label, text):
    return (f'<!DOCTYPE html>\n<html><head><meta charset="{label}"><title>{label}</title></head>\n'
            f"<body><p>{text}</p></body></html>\n")


def xml(label, text):
    return f'<?xml version="1.0" encoding="{label}"?>\n<doc><p>{text}</p></doc>\n'


def main():
    os.makedirs(OUT, exist_ok=True)
    manifest = []
    for label, codec, name, text, with_xml in CASES:
        documents = [("html", html(label, text))] + ([("xml", xml(label, text))] if with_xml else [])
        for fmt, document in documents:
            file = f"{label}.{fmt}"
            with open(os.path.join(OUT, file), "wb") as f:
                f.write(document.encode(codec))
            manifest.append({"file": file, "format": fmt, "encoding": name, "text": document})
    for file, codec, name in PLAIN:
        data = PLAIN_TEXT.encode(codec)
        if codec.startswith("utf-16"):
            data = ("\ufeff" + PLAIN_TEXT).encode(codec)
        with open(os.path.join(OUT, file), "wb") as f:
            f.write(data)
        manifest.append({"file": file, "format": "text", "encoding": name, "text": PLAIN_TEXT})
    with open(os.path.join(OUT, "manifest.json"), "w", encoding="utf-8") as f:
        json.dump(manifest, f, ensure_ascii=False, indent=1)
        f.write("\n")


if __name__ == "__main__":
    main()
