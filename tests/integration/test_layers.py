# conlab-test: static (it checks the sources: see tests/tests.cmake)
"""scripts/check_layers.py: passes on the tree, and fails on each kind of wrong include."""
import os
import shutil
import subprocess
import sys
import tempfile
import unittest

SRC = os.environ.get("CONLAB_SOURCE_DIR", os.path.join(os.path.dirname(__file__), "..", ".."))
CHECK = os.path.join(SRC, "scripts", "check_layers.py")


def check(backend):
    p = subprocess.run([sys.executable, CHECK, backend], capture_output=True, text=True,
                       timeout=60)
    return p.returncode, p.stdout + p.stderr


class LayersTest(unittest.TestCase):
    def setUp(self):
        self.tmp = tempfile.mkdtemp()
        self.backend = os.path.join(self.tmp, "backend")
        shutil.copytree(os.path.join(SRC, "backend"), self.backend)

    def tearDown(self):
        shutil.rmtree(self.tmp)

    def plant(self, rel, line):
        with open(os.path.join(self.backend, rel), "a") as f:
            f.write(f"\n{line}\n")

    def test_the_tree_follows_the_layers(self):
        rc, out = check(os.path.join(SRC, "backend"))
        self.assertEqual(rc, 0, out)

    def test_dashboard_may_not_use_the_engine(self):
        self.plant("dashboard/job.c", '#include "bench.h"')
        rc, out = check(self.backend)
        self.assertEqual(rc, 1)
        self.assertIn("dashboard/job.c: includes bench.h of layer engine/", out)

    def test_common_may_not_use_the_store(self):
        self.plant("common/spec.c", '#include "store.h"')
        rc, out = check(self.backend)
        self.assertEqual(rc, 1)
        self.assertIn("common/spec.c: includes store.h of layer store/", out)

    def test_private_headers_stay_in_their_folder(self):
        self.plant("cli/cmd_run.c", '#include "store_db.h"')
        rc, out = check(self.backend)
        self.assertEqual(rc, 1)
        self.assertIn("includes store_db.h, a private header of store/", out)

    def test_two_layers_including_each_other(self):
        self.plant("store/store.c", '#include "job.h"')  # private: also a cycle of layers
        self.plant("store/store.c", '#include "dashboard.h"')
        rc, out = check(self.backend)
        self.assertEqual(rc, 1)
        self.assertIn("layers include each other", out)

    def test_two_files_calling_each_other(self):
        self.plant("dashboard/run_json.c", '#include "http_api.h"')
        rc, out = check(self.backend)
        self.assertEqual(rc, 1)
        self.assertIn("files include each other in a cycle", out)
        self.assertIn("dashboard/http_api", out)

    def test_unknown_header(self):
        self.plant("engine/bench.c", '#include "../store/store_db.h"')
        rc, out = check(self.backend)
        self.assertEqual(rc, 1)
        self.assertIn("not a header of backend/", out)


if __name__ == "__main__":
    unittest.main()
