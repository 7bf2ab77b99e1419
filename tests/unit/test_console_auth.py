"""Console sessions: signed with the key itself, so forged, expired or revoked cookies fail."""

from __future__ import annotations

import pytest

from api.console.auth import SESSION_SECONDS, SignInError, read_session, sign_in

KEYS = {"sup-key-123456": "supervisor", "admin-key-98765": "admin", "qa-key-1234567": "qa"}
T0 = 1_800_000_000.0


def test_a_supervisor_or_admin_key_signs_in_and_the_cookie_reads_back():
    for key, role in (("sup-key-123456", "supervisor"), ("admin-key-98765", "admin")):
        cookie = sign_in(KEYS, f"  {key} ", now=T0)
        assert key not in cookie
        user = read_session(KEYS, cookie, now=T0 + 60)
        assert user is not None and user.role == role and user.actor.startswith(f"{role}:")
        assert len(user.csrf) == 32


def test_unknown_empty_and_qa_keys_do_not_sign_in():
    for key in ("nope", "", "   "):
        with pytest.raises(SignInError, match="unknown"):
            sign_in(KEYS, key)
    with pytest.raises(SignInError, match="role qa"):
        sign_in(KEYS, "qa-key-1234567")


def test_expired_forged_revoked_and_garbage_cookies_are_no_session():
    cookie = sign_in(KEYS, "sup-key-123456", now=T0)
    assert read_session(KEYS, cookie, now=T0 + SESSION_SECONDS + 1) is None
    payload, signature = cookie.rsplit(".", 1)
    assert read_session(KEYS, f"{payload}.{signature[:-2]}xx", now=T0) is None
    admin = sign_in(KEYS, "admin-key-98765", now=T0)
    assert read_session(KEYS, f"{admin.rsplit('.', 1)[0]}.{signature}", now=T0) is None
    revoked = {k: r for k, r in KEYS.items() if k != "sup-key-123456"}
    assert read_session(revoked, cookie, now=T0) is None
    for junk in (None, "", "abc", "a.b", "!!!.???"):
        assert read_session(KEYS, junk, now=T0) is None


def test_each_session_has_its_own_csrf_token():
    first = read_session(KEYS, sign_in(KEYS, "sup-key-123456", now=T0), now=T0)
    second = read_session(KEYS, sign_in(KEYS, "sup-key-123456", now=T0 + 5), now=T0 + 5)
    assert first is not None and second is not None and first.csrf != second.csrf
