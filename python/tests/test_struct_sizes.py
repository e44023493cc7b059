"""The ctypes mirrors of include/latefuse.h's structs have the C sizes: a
struct that grew in C and not here is read and written short (lf_*_defaults
returns it by value), which crashes or passes wrong options.  The C sizes
come from a small program compiled against the header, which also prints
the header's constants that Python keeps a copy of."""
import ctypes
import os
import shutil
import subprocess


import latefuse._lib as L
import latefuse.fusion as F
import latefuse.lookup as lookup
import latefuse.text as text
from conftest import REPO

PAIRS = [("Optimizer", "lf_optimizer"), ("LrSchedule", "lf_lr_schedule"), ("Progress", "lf_progress"), ("FitOptions", "lf_fit_options"),
         ("History", "lf_history"), ("TypedArray", "lf_typed_array"), ("FusionOptions", "lf_fusion_options"),
         ("InputIssue", "lf_input_issue"), ("PredictFilesOptions", "lf_predict_files_options"),
         ("PredictOptions", "lf_fusion_predict_options"),
         ("PredictFilesResult", "lf_predict_files_result"), ("ScoreRow", "lf_score_row"),
         ("CompareTable", "lf_compare_table"), ("ReportOptions", "lf_report_options"),
         ("text._Options", "lf_textvec_options"), ("lookup._Options", "lf_lookup_options"),
         ("Constraint", "lf_constraint")]


def test_ctypes_structs_have_the_headers_sizes(tmp_path):
    cc = shutil.which(os.environ.get("CC", "cc")) or shutil.which("gcc")
    assert cc, "a C compiler is needed to read the header's struct sizes"
    src = tmp_path / "sizes.c"
    body = "".join('    printf("%%zu\\n", sizeof(%s));\n' % c for _, c in PAIRS)
    body += '    printf("%d\\n", LF_FUSION_PREDICT_BLOCK);\n'
    src.write_text("#include <latefuse.h>\n#include <stdio.h>\nint main(void) {\n%s    return 0;\n}\n" % body)
    exe = tmp_path / "sizes"
    subprocess.run([cc, "-std=c11", "-I", os.path.join(REPO, "include"), "-o", str(exe), str(src)], check=True,
                   env=dict(os.environ, LD_PRELOAD=""))
    c_sizes = [int(v) for v in subprocess.run([str(exe)], check=True, capture_output=True, text=True,
                                              env=dict(os.environ, LD_PRELOAD="")).stdout.split()]
    mods = {"text": text, "lookup": lookup}
    py_sizes = [ctypes.sizeof(getattr(mods[n.split(".")[0]], n.split(".")[1]) if "." in n else getattr(L, n))
                for n, _ in PAIRS]
    differ = ["%s: C %d, Python %d" % (c, a, b) for (_, c), a, b in zip(PAIRS, c_sizes, py_sizes) if a != b]
    assert not differ, "; ".join(differ)
    assert c_sizes[len(PAIRS)] == F._PREDICT_BLOCK, "LF_FUSION_PREDICT_BLOCK is %d in C, %d in Python" % (
        c_sizes[len(PAIRS)], F._PREDICT_BLOCK)
