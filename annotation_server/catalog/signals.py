"""What the video pipeline tells the layers above it (batches), which connect receivers in
their AppConfig.ready: the catalog knows nothing of batches or pairs."""

from django.dispatch import Signal

# Sent inside the transaction that wrote a video's final status (ready or failed), with
# `video_pk` and `status`, after the video row is written and locked: a receiver that locks
# its own rows and then reads sees every other video that finished before it.
video_finished = Signal()

# Sent after the periodic sweep (queueing.videos_reset_stale) has re-queued what it found:
# the moment to settle whatever waits on videos that finished.
videos_swept = Signal()
