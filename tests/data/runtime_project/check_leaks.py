import warnings

import pytest

from app import store


@pytest.fixture
def empty(tmp_path):
    path = tmp_path / "x.empty"
    path.write_text("")
    return str(path)


@pytest.fixture
def log_file(tmp_path):
    f = open(tmp_path / "log", "w")
    yield f  # never closed: it leaks when pytest drops the fixture, in teardown


@pytest.mark.parametrize("n", [1, 2, 3])
def test_file_leaks_on_the_early_return(empty, n):
    assert store.first_line(empty) == ""


def test_socket_leaks():
    assert store.bound_socket() > 0


def test_socket_leaks_under_an_error_filter():
    warnings.simplefilter("error")  # the warning is raised in __del__: an unraisable exception
    assert store.bound_socket() > 0


def test_process_leaks():
    assert store.start_worker() > 0


def test_leak_the_static_analysis_misses(empty):
    assert store.read_through_table(empty) == ""


def test_leak_in_a_reference_cycle(empty):
    store.remember(empty)


def test_coroutine_never_awaited():
    store.schedule_refresh()


def test_leaky_fixture(log_file):
    log_file.write("x")


def test_clean(empty):
    assert store.read_safely(empty) == ""
    assert store.first_line(__file__) == "import warnings\n"  # the path that closes it
