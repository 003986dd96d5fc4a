"""How the runner gets its token: from the environment, or from the 0600 file a launcher writes
(STAGEWISE_RUN_TOKEN_FILE, for launchers whose scripts must not hold it), removed once read."""
import pytest

from gpu_runner.protocol import RunEnv


def test_the_token_is_read_from_the_token_file_which_is_then_removed_on_cpu(tmp_path):
    token_file = tmp_path / "stagewise-run-1.token"
    token_file.write_text("sw_runner_from_file\n")
    token_file.chmod(0o600)
    environ = {"STAGEWISE_API_URL": "http://127.0.0.1:9", "STAGEWISE_RUN_ID": "UnVuOjE",
               "STAGEWISE_RUN_TOKEN_FILE": str(token_file), "STAGEWISE_WORK_DIR": str(tmp_path / "w")}
    env = RunEnv.from_environ(environ)
    assert env.token == "sw_runner_from_file"
    assert not token_file.exists(), "no copy of the token stays on disk once read"


def test_without_a_token_or_token_file_the_runner_names_both_on_cpu(tmp_path):
    environ = {"STAGEWISE_API_URL": "http://127.0.0.1:9", "STAGEWISE_RUN_ID": "UnVuOjE",
               "STAGEWISE_WORK_DIR": str(tmp_path)}
    with pytest.raises(SystemExit, match="STAGEWISE_RUN_TOKEN \\(or STAGEWISE_RUN_TOKEN_FILE\\)"):
        RunEnv.from_environ(environ)
    environ["STAGEWISE_RUN_TOKEN_FILE"] = str(tmp_path / "missing.token")
    with pytest.raises(SystemExit, match="cannot read STAGEWISE_RUN_TOKEN_FILE"):
        RunEnv.from_environ(environ)
