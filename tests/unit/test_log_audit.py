"""The log audit finds what it must and ignores masked numbers."""

from tests.log_audit import leaks


def test_audit_flags_raw_e164_number():
    assert leaks(['{"phone": "+12015550101"}'])


def test_audit_flags_national_number():
    assert leaks(['{"message": "texting (201) 555-0101"}'])


def test_audit_ignores_masked_number():
    assert not leaks(['{"phone": "***0101"}'])


def test_audit_ignores_hex_ids():
    assert not leaks(['{"contact_id": "3f6c0e0b9d2a4f59a1c1d2e3f4a5b6c7"}'])


def test_audit_flags_opt_in_text():
    assert leaks(['{"message": "Harbor Realty: Reply YES to receive texts about your real estate deal"}'])


def test_audit_ignores_timestamps():
    assert not leaks(['{"at": "2026-12-07T15:00:00+00:00", "epoch_ms": 1796655600000}'])
