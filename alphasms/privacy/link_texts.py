"""Wording of the person's own pages (``privacy.views``): German (default) and English side by side.

Kept out of gettext catalogs on purpose: two languages, short texts, and the German and English
sentences are reviewed together. Templates read them as ``{{ t.key }}``; ``{placeholders}`` are filled in
by the view with ``str.format`` before rendering (``{Practice}`` is ``{practice}`` with a capital first
letter, for the start of a sentence), never by the template.
"""

from __future__ import annotations

from typing import Literal

Language = Literal["de", "en"]

TEXTS: dict[str, tuple[str, str]] = {
    "title": ("Ihre Daten", "Your data"),
    "other_language": ("English", "Deutsch"),
    "hello": ("Guten Tag {name},", "Hello {name},"),
    "intro": (
        "hier sehen Sie, welche Daten {practice} für Terminerinnerungen über Sie gespeichert hat, und können "
        "Ihre Rechte nach der Datenschutz-Grundverordnung (DSGVO) direkt ausüben. Alles ist kostenlos.",
        "this page shows which data {practice} keeps about you for appointment reminders, and lets you "
        "exercise your rights under the General Data Protection Regulation (GDPR) directly. It is free.",
    ),
    "validity": (
        "Dieser Link gilt bis {expires} und nur für Sie. Bitte geben Sie ihn nicht weiter.",
        "This link is valid until {expires} and only for you. Please do not pass it on.",
    ),
    "the_practice": ("die Praxis", "the practice"),
    "restricted": (
        "Die Verarbeitung Ihrer Daten ist seit {date} eingeschränkt (Art. 18 DSGVO): Sie bleiben "
        "gespeichert, werden aber nicht verwendet. Sie erhalten keine Erinnerungen.",
        "Processing of your data has been restricted since {date} (Art. 18 GDPR): they stay stored but are "
        "not used. You receive no reminders.",
    ),
    "contents": ("Inhalt", "Contents"),
    "data_heading": ("Ihre gespeicherten Daten (Art. 15 DSGVO)", "Your stored data (Art. 15 GDPR)"),
    "download": (
        "Alle Daten als JSON-Datei herunterladen (Art. 20 DSGVO)",
        "Download all data as a JSON file (Art. 20 GDPR)",
    ),
    "consent_heading": (
        "Einwilligung in Erinnerungen widerrufen (Art. 7 Abs. 3 DSGVO)",
        "Withdraw consent to reminders (Art. 7(3) GDPR)",
    ),
    "consent_intro": (
        "Der Widerruf wirkt sofort: Bereits geplante Erinnerungen auf diesem Weg werden nicht mehr "
        "verschickt. Ihre Termine bleiben bestehen.",
        "Withdrawal takes effect at once: reminders already planned on that channel are not sent. Your "
        "appointments stay as they are.",
    ),
    "consent_active": (
        "Sie haben eingewilligt in Erinnerungen per {channel}.",
        "You consented to {channel} reminders.",
    ),
    "consent_none": ("Für {channel} liegt keine Einwilligung vor.", "There is no consent for {channel}."),
    "withdraw_button": ("Einwilligung für {channel} widerrufen", "Withdraw consent for {channel}"),
    "objection_heading": (
        "Widerspruch gegen anonymisierte Statistik (Art. 21 DSGVO)",
        "Object to anonymised statistics (Art. 21 GDPR)",
    ),
    "objection_on": (
        "{Practice} zählt Nachrichten anonym je Monat und Standort. Wenn Sie widersprechen, werden Ihre "
        "Nachrichten nicht mitgezählt.",
        "{Practice} counts messages anonymously per month and location. If you object, your messages are "
        "not counted.",
    ),
    "objection_off": (
        "Derzeit wird keine Statistik geführt. Ihr Widerspruch gilt auch, falls sie später eingeschaltet "
        "wird.",
        "No statistics are kept at present. Your objection also holds if they are switched on later.",
    ),
    "objection_button": ("Widersprechen", "Object"),
    "objection_done": ("Sie haben am {date} widersprochen.", "You objected on {date}."),
    "restrict_heading": (
        "Einschränkung der Verarbeitung verlangen (Art. 18 DSGVO)",
        "Request restriction of processing (Art. 18 GDPR)",
    ),
    "restrict_intro": (
        "Ihre Daten bleiben gespeichert, werden aber ab sofort nicht mehr verwendet; Sie erhalten keine "
        "Erinnerungen mehr. {Practice} informiert Sie, bevor die Einschränkung aufgehoben wird.",
        "Your data stay stored but are no longer used from now on; you receive no more reminders. "
        "{Practice} will tell you before the restriction is lifted.",
    ),
    "restrict_basis": ("Grund (Art. 18 Abs. 1 DSGVO)", "Ground (Art. 18(1) GDPR)"),
    "basis_accuracy": (
        "Meine Daten sind unrichtig – bis das geprüft ist.",
        "My data are inaccurate – until this has been checked.",
    ),
    "basis_unlawful": (
        "Die Verarbeitung ist unrechtmäßig, ich möchte aber keine Löschung.",
        "The processing is unlawful, but I do not want erasure.",
    ),
    "basis_legal_claims": (
        "Ich brauche die Daten für Rechtsansprüche.",
        "I need the data for legal claims.",
    ),
    "basis_objection": (
        "Ich habe der Verarbeitung widersprochen – bis das geprüft ist.",
        "I have objected to the processing – until this has been checked.",
    ),
    "restrict_button": ("Verarbeitung einschränken", "Restrict processing"),
    "rectify_heading": ("Berichtigung verlangen (Art. 16 DSGVO)", "Request rectification (Art. 16 GDPR)"),
    "rectify_intro": (
        "Schreiben Sie, welche Angabe falsch ist und wie sie richtig lautet. {Practice} prüft das und "
        "antwortet innerhalb eines Monats.",
        "Write which detail is wrong and what is correct. {Practice} checks it and answers within a month.",
    ),
    "rectify_label": ("Ihre Nachricht (höchstens 2000 Zeichen)", "Your message (at most 2000 characters)"),
    "rectify_button": ("Absenden", "Send"),
    "erase_heading": ("Löschung verlangen (Art. 17 DSGVO)", "Request erasure (Art. 17 GDPR)"),
    "erase_intro": (
        "Alle Ihre gespeicherten Daten werden gelöscht: Angaben zu Ihrer Person, Termine, Nachrichten und "
        "Einwilligungen. Danach funktioniert dieser Link nicht mehr.",
        "All your stored data are erased: your details, appointments, messages and consents. "
        "Afterwards this link no longer works.",
    ),
    "erase_next": ("Weiter zur Löschung", "Continue to erasure"),
    "erase_confirm_title": ("Daten löschen?", "Erase your data?"),
    "erase_confirm_text": (
        "Die Löschung kann nicht rückgängig gemacht werden. Geplante Erinnerungen werden nicht mehr "
        "verschickt. Zurück bleibt nur ein Vermerk ohne Namen und Kontaktdaten (eine interne Nummer und der "
        "Zeitpunkt), damit die Löschung auch nach dem Wiederherstellen einer Datensicherung wirksam bleibt.",
        "Erasure cannot be undone. Planned reminders are not sent. Only a note without name or contact "
        "details remains (an internal number and the time), so that the erasure still holds after a backup "
        "is restored.",
    ),
    "erase_confirm_box": ("Ja, meine Daten sollen gelöscht werden.", "Yes, erase my data."),
    "erase_button": ("Endgültig löschen", "Erase for good"),
    "erase_cancel": ("Zurück, nichts löschen", "Back, erase nothing"),
    "erase_busy": (
        "Gerade wird eine Nachricht an Sie verschickt. Bitte versuchen Sie es in einer Minute noch einmal; "
        "es wurde nichts gelöscht.",
        "A message to you is being sent right now. Please try again in a minute; nothing was erased.",
    ),
    "erase_unconfirmed": (
        "Bitte bestätigen Sie die Löschung mit dem Häkchen.",
        "Please confirm the erasure by ticking the box.",
    ),
    "erased_title": ("Ihre Daten wurden gelöscht", "Your data have been erased"),
    "erased_text": (
        "Ihre Daten sind gelöscht. Dieser Link funktioniert nicht mehr. Sie können diese Seite schließen.",
        "Your data have been erased. This link no longer works. You may close this page.",
    ),
    "complaint": (
        "Sie können sich außerdem bei einer Datenschutz-Aufsichtsbehörde beschweren (Art. 77 DSGVO).",
        "You may also lodge a complaint with a data protection supervisory authority (Art. 77 GDPR).",
    ),
    "contact": ("Fragen? {Practice}, Telefon {phone}", "Questions? {Practice}, phone {phone}"),
    "done_withdraw": (
        "Ihr Widerruf für {channel} ist eingetragen. Geplante Erinnerungen auf diesem Weg werden nicht "
        "verschickt.",
        "Your withdrawal for {channel} is recorded. Planned reminders on that channel will not be sent.",
    ),
    "done_object": ("Ihr Widerspruch ist eingetragen.", "Your objection is recorded."),
    "done_restrict": (
        "Die Verarbeitung Ihrer Daten ist eingeschränkt.",
        "Processing of your data is restricted.",
    ),
    "done_rectify": (
        "Ihre Nachricht ist eingegangen. {Practice} meldet sich bei Ihnen.",
        "Your message has arrived. {Practice} will get back to you.",
    ),
    "error_heading": ("Bitte prüfen Sie Ihre Eingabe", "Please check your input"),
    "error_rectify": (
        "Bitte schreiben Sie eine Nachricht mit höchstens 2000 Zeichen.",
        "Please write a message of at most 2000 characters.",
    ),
    "error_channel": ("Diesen Weg gibt es nicht.", "There is no such channel."),
    "error_basis": ("Bitte wählen Sie einen Grund.", "Please choose a ground."),
    "invalid_title": ("Dieser Link ist ungültig", "This link is not valid"),
    "invalid_text": (
        "Der Link ist unvollständig, verändert oder gilt nicht mehr – zum Beispiel, weil Ihre Daten "
        "inzwischen gelöscht wurden. Es wurde nichts geändert. Wenn Sie einen neuen Link brauchen, wenden "
        "Sie sich bitte an die Praxis.",
        "The link is incomplete, altered or no longer valid – for example because your data have since "
        "been erased. Nothing was changed. If you need a new link, please contact the practice.",
    ),
    "expired_title": ("Dieser Link ist abgelaufen", "This link has expired"),
    "expired_text": (
        "Aus Sicherheitsgründen gilt ein persönlicher Link nur für begrenzte Zeit. Es wurde nichts "
        "geändert. Bitte fragen Sie die Praxis nach einem neuen Link.",
        "For your security a personal link is valid for a limited time only. Nothing was changed. Please "
        "ask the practice for a new link.",
    ),
}


def texts(language: Language) -> dict[str, str]:
    """Every text in ``language`` ("de" or "en"), keyed as TEXTS."""
    index = 1 if language == "en" else 0
    return {key: pair[index] for key, pair in TEXTS.items()}
