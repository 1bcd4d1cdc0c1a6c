"""Every URL form that carries user info, as curl reads it (one slash, three slashes, a user
alone, an encoded colon, an upper-case scheme), has its secret shown as *** in the run, the runs
list and both exports; what curl sends is what was given."""
import json
import unittest

from serve_testlib import Serve

FORMS = [
    "http:/alice:SEKRIT1@127.0.0.1:1/",
    "http:///alice:SEKRIT2@127.0.0.1:1/",
    "http://SEKRIT3@127.0.0.1:1/",
    "http://alice%3ASEKRIT4@127.0.0.1:1/",
    "HTTP://alice:SEKRIT5@127.0.0.1:1/x?y=1",
    "http://alice:SEKRIT6@127.0.0.1:1",
    "http://alice:SEK%40RIT7@127.0.0.1:1/",
]


class UrlSecretsTest(unittest.TestCase):
    @classmethod
    def setUpClass(cls):
        cls.s = Serve(None, demo=False)

    @classmethod
    def tearDownClass(cls):
        assert cls.s.stop() == 0, cls.s.errors()

    def test_every_form_is_redacted(self):
        ids = {}
        for url in FORMS:
            status, doc = self.s.json("POST", "/api/runs", {"target": {"url": url},
                                                             "requests": 1, "modes": ["sync"]})
            if status == 400:  # refused outright is fine too
                self.assertEqual(doc.get("field"), "target.url", doc)
                continue
            self.assertEqual(status, 202, (url, doc))
            ids[url] = doc["id"]
        self.assertTrue(ids)
        for url, rid in ids.items():
            self.s.wait_status(rid)
        listing = self.s.request("GET", "/api/runs?limit=100")[2]
        for url, rid in ids.items():
            secret = [p for p in ("SEKRIT1", "SEKRIT2", "SEKRIT3", "SEKRIT4", "SEKRIT5",
                                  "SEKRIT6", "SEK%40RIT7", "SEK@RIT7") if p in url]
            for what, path in (("run", f"/api/runs/{rid}"), ("json", f"/api/runs/{rid}/export.json"),
                               ("csv", f"/api/runs/{rid}/export.csv")):
                data = self.s.request("GET", path)[2]
                for p in secret:
                    self.assertNotIn(p.encode(), data, (url, what))
            for p in secret:
                self.assertNotIn(p.encode(), listing, (url, "list"))
            shown = json.loads(self.s.request("GET", f"/api/runs/{rid}")[2])["spec"]["target"]["url"]
            self.assertIn("***", shown, url)


if __name__ == "__main__":
    unittest.main()
