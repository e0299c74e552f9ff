"""The self-contained HTML trajectory viewer and the episode records it shows.

Below both users in the package layering: the evaluation harness (:mod:`vlenvs_train.evaluation`, whose
``viewer.html`` it is) and the trainer (:mod:`vlenvs_train.train`, which writes ``OUT/viewer_<stage>.html`` for its
held-out evaluations) import it; it imports only the adapter and the policy types.

- :mod:`~vlenvs_train.viewer.records`: episodes as JSON records; :class:`PromptRecorder` keeps the prompts a
  policy was asked.
- :mod:`~vlenvs_train.viewer.render`: :func:`write_viewer` (records or trainer ``Episode`` objects -> one HTML file).
- :mod:`~vlenvs_train.viewer.page`: the page's inline CSS and JavaScript.
- :mod:`~vlenvs_train.viewer.files`: :func:`write_durably` (atomic, ``fsync``'d writes).
"""

from vlenvs_train.viewer.files import write_durably
from vlenvs_train.viewer.records import PromptRecorder, episode_record
from vlenvs_train.viewer.render import viewer_html, viewer_records, write_viewer

__all__ = ["PromptRecorder", "episode_record", "viewer_html", "viewer_records", "write_durably", "write_viewer"]
