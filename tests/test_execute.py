"""The one notebook runner (tools/execute.py), which stores outputs and runs the claim matrix and the
benchmarks: a fresh kernel in the notebook's folder, with the environment it is given."""
import nbformat
import pytest
from nbclient.exceptions import CellExecutionError

from tools.execute import execute, store_outputs


def _notebook(*sources: str) -> nbformat.NotebookNode:
    nb = nbformat.v4.new_notebook()
    nb.cells = [nbformat.v4.new_code_cell(source) for source in sources]
    return nb


def test_execute_runs_in_the_folder_with_the_environment_given(tmp_path, monkeypatch):
    monkeypatch.setenv("RESNET_LAB_TEST_KEPT", "from this process")
    nb = _notebook("import os\nprint(os.getcwd())",
                   "print(os.environ['RESNET_LAB_SEED'], os.environ['RESNET_LAB_TEST_KEPT'])",
                   "1 / 0", "print('after the error')")
    seconds = execute(nb, tmp_path, env={"RESNET_LAB_SEED": "7"}, allow_errors=True)
    printed = ["".join(out.get("text", "") for out in cell.outputs) for cell in nb.cells]
    assert printed[0].strip() == str(tmp_path) and printed[1] == "7 from this process\n"
    assert nb.cells[2].outputs[0].ename == "ZeroDivisionError" and printed[3] == "after the error\n"
    assert seconds > 0
    with pytest.raises(CellExecutionError, match="ZeroDivisionError"):
        execute(_notebook("1 / 0"), tmp_path)


def test_store_outputs_writes_a_clean_run_in_place(tmp_path):
    path = tmp_path / "nb.ipynb"
    nb = _notebook("print(6 * 7)")
    nb.cells[0].metadata["execution"] = {"iopub.execute_input": "an earlier run"}
    nbformat.write(nb, str(path))
    store_outputs(path)
    [cell] = nbformat.read(str(path), as_version=4).cells
    assert cell.outputs[0].text == "42\n" and cell.execution_count == 1 and "execution" not in cell.metadata
