"""botocore's Stubber for an engine that sends a photo's calls at once.

The Rekognition engine runs IndexFaces and DetectText of one photo concurrently
(issue 11), so the order in which they reach the client is up to the scheduler.
botocore's Stubber keeps one queue for all operations and asserts that calls
arrive in exactly the queued order, and its two hooks (parameter check, then
response) are not atomic across threads; CI saw DetectText overtake IndexFaces
and fail a test that was right. This Stubber keeps the order per operation,
which is the order the engine promises, and still checks every request against
the service model and the exact expected parameters.
"""

import threading

from botocore.stub import Stubber, UnStubbedResponseError


class ConcurrentStubber(Stubber):
    def __init__(self, client):
        super().__init__(client)
        self._lock = threading.Lock()

    def _assert_expected_params(self, model, params, context, **kwargs):
        if self._should_not_stub(context):
            return
        with self._lock:
            # Bring the first response queued for this operation to the front, let
            # Stubber check the call against it, then take it for this request alone.
            for i, queued in enumerate(self._queue):
                if queued["operation_name"] == model.name:
                    del self._queue[i]
                    self._queue.appendleft(queued)
                    break
            else:
                raise UnStubbedResponseError(operation_name=model.name,
                                             reason="no response queued for this operation")
            super()._assert_expected_params(model, params, context, **kwargs)
            context["photosense_stub"] = self._queue.popleft()

    def _get_response_handler(self, model, params, context, **kwargs):
        return context.pop("photosense_stub")["response"]
