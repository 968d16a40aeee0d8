"""NAME or NAME_FILE: one rule for every secret, in every image and the platform."""

from __future__ import annotations

import pytest

from pipeyard_kit import secrets, settings


def test_the_variable_or_the_file(tmp_path):
    token = tmp_path / "token"
    token.write_text("s3cret\n")
    assert secrets.read("TOKEN", {"TOKEN": "direct"}) == ("direct", "TOKEN")
    assert secrets.read("TOKEN", {"TOKEN_FILE": str(token)}) == ("s3cret", "TOKEN_FILE")
    assert secrets.read("TOKEN", {}) == (None, None)
    # The tool wrappers hand the file's content on as the variable: the same value is no conflict.
    assert secrets.read("TOKEN", {"TOKEN": "s3cret", "TOKEN_FILE": str(token)}) == ("s3cret", "TOKEN_FILE")


@pytest.mark.parametrize("make, says", [
    (lambda d: d / "missing", "cannot be read (No such file or directory)"),
    (lambda d: d, "cannot be read (it is a folder)"),
    (lambda d: (d / "empty").write_text("  \n") and d / "empty", "cannot be used (the file is empty)"),
    (lambda d: (d / "bin").write_bytes(b"\xff\xfe") and d / "bin", "cannot be read (not UTF-8 text)"),
])
def test_a_file_that_gives_no_secret_is_an_error_naming_it(tmp_path, make, says):
    path = make(tmp_path)
    with pytest.raises(secrets.SecretFileError) as err:
        secrets.read("TOKEN", {"TOKEN_FILE": str(path)})
    assert str(err.value).startswith(f"TOKEN_FILE={path} {says}: point TOKEN_FILE at a readable file")


def test_both_set_to_different_values_is_an_error_not_a_choice(tmp_path):
    token = tmp_path / "token"
    token.write_text("from-file")
    with pytest.raises(secrets.SecretFileError) as err:
        secrets.read("TOKEN", {"TOKEN": "from-variable", "TOKEN_FILE": str(token)})
    assert str(err.value) == "TOKEN and TOKEN_FILE are both set, to different values: unset one of them"
    assert "from-file" not in str(err.value) and "from-variable" not in str(err.value)


def test_settings_apply_the_same_rule_and_report_it_with_the_others(tmp_path):
    env = {"MAVEN_REPO_PASSWORD": "one", "MAVEN_REPO_PASSWORD_FILE": str(tmp_path), "MAVEN_MIRROR_URL": "nope",
           "PIPEYARD_SITE_FILE": "/nonexistent"}
    with pytest.raises(settings.ConfigError) as err:
        settings.load("maven", env=env)
    assert err.value.problems[0].startswith("MAVEN_MIRROR_URL='nope'")
    assert any(p.startswith(f"MAVEN_REPO_PASSWORD_FILE={tmp_path} cannot be read (it is a folder)")
               for p in err.value.problems)
