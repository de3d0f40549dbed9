#include "session/waiting_requests.h"

#include "protocol/frame_reader.h"

namespace ouroboros::session {

namespace fe = protocol::frontend;

std::optional<WaitingAnswers> answer_waiting_requests(ByteView input, const protocol::ErrorSpec& error,
                                                      WaitingScope scope, std::size_t max_message_size) {
  const protocol::FrameReader frames(max_message_size);
  WaitingAnswers answers;
  bool batch_failed = false;  // the batch got its error: the rest is skipped up to its Sync
  bool answered_one = false;
  while (answers.used < input.size() && !(scope == WaitingScope::FirstRequest && answered_one)) {
    const auto result = frames.read_typed(input.subspan(answers.used));
    if (result.status != protocol::FrameStatus::Ready) return std::nullopt;
    switch (result.frame.type) {
      case fe::kTerminate:
        if (scope == WaitingScope::FirstRequest) return std::nullopt;
        if (batch_failed) return std::nullopt;  // the batch never got its Sync
        answers.used += result.frame.size;
        answers.terminate = true;
        return answers;
      case fe::kQuery:
      case fe::kFunctionCall:
        if (batch_failed) break;  // skipped with the rest of the failed batch, as PostgreSQL does
        protocol::encode_error_response(answers.out, error);
        protocol::encode_ready_for_query(answers.out, 'I');
        answered_one = true;
        break;
      case fe::kSync:
        protocol::encode_ready_for_query(answers.out, 'I');
        batch_failed = false;
        answered_one = true;
        break;
      case fe::kCopyData:
      case fe::kCopyDone:
      case fe::kCopyFail:
        break;  // outside a COPY, PostgreSQL ignores them too
      default:
        if (!batch_failed) protocol::encode_error_response(answers.out, error);
        batch_failed = true;
        break;
    }
    answers.used += result.frame.size;
  }
  if (batch_failed || !answered_one) return std::nullopt;
  return answers;
}

}  // namespace ouroboros::session
