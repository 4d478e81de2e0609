// The command table of collabctl and what each command sends.
#include "plugin/cli/commands.h"

#include <algorithm>
#include <cstdlib>
#include <functional>
#include <memory>
#include <optional>
#include <set>
#include <utility>

#include "absl/strings/ascii.h"
#include "absl/strings/numbers.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/strings/str_split.h"
#include "absl/time/time.h"
#include "collabcare/v1/episode_service.grpc.pb.h"
#include "collabcare/v1/goal_service.grpc.pb.h"
#include "collabcare/v1/hypothesis_service.grpc.pb.h"
#include "collabcare/v1/review_service.grpc.pb.h"
#include "collabcare/v1/sync_service.grpc.pb.h"
#include "plugin/cli/args.h"
#include "plugin/cli/call.h"
#include "plugin/cli/client.h"
#include "plugin/cli/printer.h"
#include "plugin/common/status_macros.h"

namespace collabcare::cli {
namespace {

namespace v1 = ::collabcare::v1;

constexpr char kDefaultServer[] = "127.0.0.1:50051";
constexpr char kDefaultDataDir[] = "./collabcare-data";

// Options every command accepts.
const std::set<std::string>& GlobalOptions() {
  static const auto* const kGlobal = new std::set<std::string>{
      "server",          "token", "as",    "data_dir",   "tls_ca",  "tls_cert", "tls_key",
      "tls_server_name", "json",  "quiet", "request_id", "timeout", "help"};
  return *kGlobal;
}

absl::Status Usage(absl::string_view message) { return absl::InvalidArgumentError(message); }

std::string EnvOr(const char* name, const std::string& fallback) {
  const char* value = std::getenv(name);
  return value != nullptr && *value != '\0' ? std::string(value) : fallback;
}

// What a command gets to work with.
class Context {
 public:
  Context(const Args& args, std::vector<std::string> operands, std::ostream& out, std::ostream& err,
          OutputMode mode)
      : args(args),
        operands(std::move(operands)),
        out(out),
        err(err),
        mode(mode),
        printer(out, mode) {}

  const Args& args;
  const std::vector<std::string> operands;  // the words after the command's own words
  std::ostream& out;
  std::ostream& err;
  const OutputMode mode;
  Printer printer;
  std::string data_dir;
  ConnectionOptions connection_options;  // all but the token, which Connect() resolves

  // The connection, opened on first use: --as mints a development token (1 h), else --token,
  // else $COLLABCARE_TOKEN.
  absl::StatusOr<Connection*> Connect() {
    if (connection_ != nullptr) return connection_.get();
    ConnectionOptions options = connection_options;
    if (std::optional<std::string> as = args.Value("as"); as.has_value()) {
      if (args.Has("token")) return Usage("give --token or --as, not both");
      ASSIGN_OR_RETURN(options.token, MintDevToken(data_dir, *as, absl::Hours(1)));
    } else if (std::optional<std::string> token = args.Value("token"); token.has_value()) {
      options.token = *token;
    } else {
      options.token = EnvOr("COLLABCARE_TOKEN", "");
    }
    ASSIGN_OR_RETURN(connection_, Connection::Open(options));
    return connection_.get();
  }

  // A required option's value.
  absl::StatusOr<std::string> Required(const std::string& key, absl::string_view hint = "") {
    std::optional<std::string> value = args.Value(key);
    if (!value.has_value()) {
      return Usage(absl::StrCat("this command needs --", key, hint.empty() ? "" : "=", hint));
    }
    return *value;
  }

  const std::string& Operand(size_t i) const { return operands[i]; }

 private:
  std::unique_ptr<Connection> connection_;
};

// One unary call with a fresh context (token, deadline).
template <typename Response, typename Fn>
absl::StatusOr<Response> Unary(Context& c, Fn&& fn) {
  ASSIGN_OR_RETURN(Connection * connection, c.Connect());
  grpc::ClientContext context;
  connection->Prepare(&context);
  Response response;
  RETURN_IF_ERROR(FromGrpc(fn(connection, &context, &response)));
  return response;
}

// Calls, prints the result.
template <typename Response, typename Fn>
absl::Status UnaryAndPrint(Context& c, Fn&& fn) {
  ASSIGN_OR_RETURN(Response response, Unary<Response>(c, std::forward<Fn>(fn)));
  return c.printer.Print(response);
}

template <typename Service>
std::unique_ptr<typename Service::Stub> StubFor(Connection* connection) {
  return Service::NewStub(connection->channel());
}

// A List… call. With --page_size or --page_token: that one page (and the next page's token on
// stderr). Otherwise every page, printed as one response.
template <typename Response, typename Fn>
absl::Status ListPages(Context& c, Fn&& call_page) {
  std::optional<std::string> size_option = c.args.Value("page_size");
  std::optional<std::string> token_option = c.args.Value("page_token");
  int32_t page_size = 0;
  if (size_option.has_value()) {
    ASSIGN_OR_RETURN(int64_t size, ParseIntOption("page_size", *size_option));
    if (size < 1 || size > 1000) return Usage("--page_size: between 1 and 1000");
    page_size = static_cast<int32_t>(size);
  }
  if (size_option.has_value() || token_option.has_value()) {
    ASSIGN_OR_RETURN(Response page, Unary<Response>(c, [&](Connection* conn, auto* ctx, auto* r) {
                       return call_page(conn, ctx, token_option.value_or(""), page_size, r);
                     }));
    RETURN_IF_ERROR(c.printer.Print(page));
    if (!page.next_page_token().empty() && c.mode != OutputMode::kJson) {
      c.err << "more: --page_token=" << page.next_page_token() << "\n";
    }
    return absl::OkStatus();
  }
  Response all;
  std::string token;
  for (int pages = 0; pages < 10000; ++pages) {
    ASSIGN_OR_RETURN(Response page, Unary<Response>(c, [&](Connection* conn, auto* ctx, auto* r) {
                       return call_page(conn, ctx, token, 0, r);
                     }));
    std::string next = page.next_page_token();
    all.MergeFrom(page);
    if (next.empty() || next == token) break;
    token = std::move(next);
  }
  all.clear_next_page_token();
  return c.printer.Print(all);
}

// "Patient/1=Alex Doe" → person and display.
v1::Participant ParseParticipant(const std::string& value, v1::Participant::Role role) {
  v1::Participant p;
  std::pair<std::string, std::string> parts = absl::StrSplit(value, absl::MaxSplits('=', 1));
  p.set_person(parts.first);
  p.set_display(parts.second);
  p.set_role(role);
  return p;
}

// Participants from --client, --family and --therapist, in that order.
std::vector<v1::Participant> Participants(const Args& args) {
  std::vector<v1::Participant> out;
  for (const auto& [option, role] : {std::pair{"client", v1::Participant::CLIENT},
                                     std::pair{"family", v1::Participant::FAMILY_MEMBER},
                                     std::pair{"therapist", v1::Participant::THERAPIST}}) {
    for (const std::string& value : args.Values(option)) {
      out.push_back(ParseParticipant(value, role));
    }
  }
  return out;
}

bool HasParticipantOptions(const Args& args) {
  return args.Has("client") || args.Has("family") || args.Has("therapist");
}

// Every value of a repeatable option; a single empty value (`--audience=`) means "none".
std::vector<std::string> ListOption(const Args& args, const std::string& key) {
  std::vector<std::string> values = args.Values(key);
  if (values.size() == 1 && values[0].empty()) return {};
  return values;
}

// "SYSTEM|CODE|DISPLAY", "SYSTEM|CODE" or "CODE"; a few well-known systems by short name.
absl::StatusOr<v1::Code> ParseCode(const std::string& value) {
  v1::Code code;
  if (value.empty()) return code;
  std::vector<std::string> parts = absl::StrSplit(value, absl::MaxSplits('|', 2));
  if (parts.size() == 1) {
    code.set_code(parts[0]);
  } else {
    std::string system = parts[0];
    std::string lower = absl::AsciiStrToLower(system);
    if (lower == "icd-10-cm" || lower == "icd10cm") {
      system = "http://hl7.org/fhir/sid/icd-10-cm";
    } else if (lower == "icd-10" || lower == "icd10") {
      system = "http://hl7.org/fhir/sid/icd-10";
    } else if (lower == "snomed" || lower == "sct") {
      system = "http://snomed.info/sct";
    }
    code.set_system(system);
    code.set_code(parts[1]);
    if (parts.size() == 3) code.set_display(parts[2]);
  }
  if (code.code().empty()) return Usage("--code: SYSTEM|CODE|DISPLAY needs a CODE");
  return code;
}

// ---- token ----

absl::Status RunToken(Context& c) {
  ASSIGN_OR_RETURN(std::string person, c.Required("as", "REF"));
  absl::Duration ttl = absl::Hours(8);
  if (std::optional<std::string> value = c.args.Value("ttl"); value.has_value()) {
    if (!absl::ParseDuration(*value, &ttl) || ttl <= absl::ZeroDuration()) {
      return Usage(absl::StrCat("--ttl: \"", *value, "\" is not a duration like 8h or 30m"));
    }
  }
  ASSIGN_OR_RETURN(std::string token, MintDevToken(c.data_dir, person, ttl));
  c.out << token << "\n";
  return absl::OkStatus();
}

// ---- episodes ----

absl::Status RunEpisodesCreate(Context& c) {
  v1::CreateEpisodeRequest request;
  v1::Episode* episode = request.mutable_episode();
  for (v1::Participant& p : Participants(c.args)) *episode->add_participants() = std::move(p);
  ASSIGN_OR_RETURN(std::string format, c.Required("format", "client-led|therapist-led"));
  ASSIGN_OR_RETURN(std::string modality, c.Required("modality", "individual|couple|family|group"));
  ASSIGN_OR_RETURN(auto f, ParseEnumOption<v1::Episode::Format>("format", format));
  ASSIGN_OR_RETURN(auto m, ParseEnumOption<v1::Episode::Modality>("modality", modality));
  episode->set_format(f);
  episode->set_modality(m);
  return UnaryAndPrint<v1::Episode>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::EpisodeService>(conn)->CreateEpisode(ctx, request, r);
  });
}

absl::Status RunEpisodesGet(Context& c) {
  v1::GetEpisodeRequest request;
  request.set_name(c.Operand(0));
  return UnaryAndPrint<v1::Episode>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::EpisodeService>(conn)->GetEpisode(ctx, request, r);
  });
}

absl::Status RunEpisodesList(Context& c) {
  return ListPages<v1::ListEpisodesResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListEpisodesRequest request;
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::EpisodeService>(conn)->ListEpisodes(ctx, request, r);
      });
}

absl::Status RunEpisodesRevisions(Context& c) {
  return ListPages<v1::ListEpisodeRevisionsResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListEpisodeRevisionsRequest request;
        request.set_name(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::EpisodeService>(conn)->ListEpisodeRevisions(ctx, request, r);
      });
}

absl::Status RunEpisodesUpdate(Context& c) {
  v1::UpdateEpisodeRequest request;
  v1::Episode* episode = request.mutable_episode();
  episode->set_name(c.Operand(0));
  auto* mask = request.mutable_update_mask();
  if (std::optional<std::string> v = c.args.Value("format"); v.has_value()) {
    ASSIGN_OR_RETURN(auto f, ParseEnumOption<v1::Episode::Format>("format", *v));
    episode->set_format(f);
    mask->add_paths("format");
  }
  if (std::optional<std::string> v = c.args.Value("modality"); v.has_value()) {
    ASSIGN_OR_RETURN(auto m, ParseEnumOption<v1::Episode::Modality>("modality", *v));
    episode->set_modality(m);
    mask->add_paths("modality");
  }
  if (std::optional<std::string> v = c.args.Value("status"); v.has_value()) {
    ASSIGN_OR_RETURN(auto s, ParseEnumOption<v1::Episode::Status>("status", *v));
    episode->set_status(s);
    mask->add_paths("status");
  }
  if (HasParticipantOptions(c.args)) {
    for (v1::Participant& p : Participants(c.args)) *episode->add_participants() = std::move(p);
    mask->add_paths("participants");
  }
  if (mask->paths_size() == 0) {
    return Usage("nothing to update: give --format, --modality, --status or participants");
  }
  if (std::optional<std::string> etag = c.args.Value("etag"); etag.has_value()) {
    episode->mutable_meta()->set_etag(*etag);
  }
  return UnaryAndPrint<v1::Episode>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::EpisodeService>(conn)->UpdateEpisode(ctx, request, r);
  });
}

absl::Status RunEpisodesWatch(Context& c) {
  v1::WatchEpisodeRequest request;
  request.set_name(c.Operand(0));
  if (std::optional<std::string> v = c.args.Value("after"); v.has_value()) {
    ASSIGN_OR_RETURN(int64_t after, ParseIntOption("after", *v));
    if (after < 0) return Usage("--after: a sequence number, 0 or more");
    request.set_after_sequence(after);
  }
  int64_t count = -1;
  if (std::optional<std::string> v = c.args.Value("count"); v.has_value()) {
    ASSIGN_OR_RETURN(count, ParseIntOption("count", *v));
    if (count < 1) return Usage("--count: 1 or more");
  }
  ASSIGN_OR_RETURN(Connection * connection, c.Connect());
  grpc::ClientContext context;
  connection->PrepareStream(&context);
  std::unique_ptr<grpc::ClientReader<v1::EpisodeEvent>> reader =
      StubFor<v1::EpisodeService>(connection)->WatchEpisode(&context, request);
  v1::EpisodeEvent event;
  int64_t seen = 0;
  while ((count < 0 || seen < count) && reader->Read(&event)) {
    RETURN_IF_ERROR(c.printer.PrintEvent(event));
    ++seen;
  }
  if (count >= 0 && seen >= count) {
    context.TryCancel();
    reader->Finish();
    return absl::OkStatus();
  }
  grpc::Status status = reader->Finish();
  // Without --count, the --timeout deadline is how a watch is told to stop: not an error.
  if (status.error_code() == grpc::StatusCode::DEADLINE_EXCEEDED && count < 0) {
    return absl::OkStatus();
  }
  return FromGrpc(status);
}

// ---- goals ----

absl::Status RunGoalsCreate(Context& c) {
  v1::CreateGoalRequest request;
  request.set_parent(c.Operand(0));
  v1::Goal* goal = request.mutable_goal();
  ASSIGN_OR_RETURN(std::string words, c.Required("words", "TEXT"));
  goal->set_words(words);
  goal->set_everyday_signs(c.args.Value("signs").value_or(""));
  goal->set_owner(c.args.Value("owner").value_or(""));
  if (std::optional<std::string> v = c.args.Value("priority"); v.has_value()) {
    ASSIGN_OR_RETURN(int64_t priority, ParseIntOption("priority", *v));
    if (priority < 0 || priority > 1000) return Usage("--priority: 0 to 1000");
    goal->set_priority(static_cast<int32_t>(priority));
  }
  if (std::optional<std::string> v = c.args.Value("visibility"); v.has_value()) {
    ASSIGN_OR_RETURN(auto vis, ParseEnumOption<v1::Goal::Visibility>("visibility", *v));
    goal->set_visibility(vis);
  }
  if (c.args.Flag("proposed")) goal->set_status(v1::Goal::PROPOSED);
  return UnaryAndPrint<v1::Goal>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::GoalService>(conn)->CreateGoal(ctx, request, r);
  });
}

absl::Status RunGoalsGet(Context& c) {
  v1::GetGoalRequest request;
  request.set_name(c.Operand(0));
  return UnaryAndPrint<v1::Goal>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::GoalService>(conn)->GetGoal(ctx, request, r);
  });
}

absl::Status RunGoalsList(Context& c) {
  return ListPages<v1::ListGoalsResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListGoalsRequest request;
        request.set_parent(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::GoalService>(conn)->ListGoals(ctx, request, r);
      });
}

absl::Status RunGoalsRevisions(Context& c) {
  return ListPages<v1::ListGoalRevisionsResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListGoalRevisionsRequest request;
        request.set_name(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::GoalService>(conn)->ListGoalRevisions(ctx, request, r);
      });
}

absl::Status SendGoalUpdate(Context& c, v1::UpdateGoalRequest& request) {
  if (std::optional<std::string> etag = c.args.Value("etag"); etag.has_value()) {
    request.mutable_goal()->mutable_meta()->set_etag(*etag);
  }
  return UnaryAndPrint<v1::Goal>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::GoalService>(conn)->UpdateGoal(ctx, request, r);
  });
}

absl::Status RunGoalsUpdate(Context& c) {
  v1::UpdateGoalRequest request;
  v1::Goal* goal = request.mutable_goal();
  goal->set_name(c.Operand(0));
  auto* mask = request.mutable_update_mask();
  if (std::optional<std::string> v = c.args.Value("words"); v.has_value()) {
    goal->set_words(*v);
    mask->add_paths("words");
  }
  if (std::optional<std::string> v = c.args.Value("signs"); v.has_value()) {
    goal->set_everyday_signs(*v);
    mask->add_paths("everyday_signs");
  }
  if (std::optional<std::string> v = c.args.Value("priority"); v.has_value()) {
    ASSIGN_OR_RETURN(int64_t priority, ParseIntOption("priority", *v));
    if (priority < 0 || priority > 1000) return Usage("--priority: 0 to 1000");
    goal->set_priority(static_cast<int32_t>(priority));
    mask->add_paths("priority");
  }
  if (std::optional<std::string> v = c.args.Value("status"); v.has_value()) {
    ASSIGN_OR_RETURN(auto s, ParseEnumOption<v1::Goal::Status>("status", *v));
    goal->set_status(s);
    mask->add_paths("status");
  }
  if (std::optional<std::string> v = c.args.Value("visibility"); v.has_value()) {
    ASSIGN_OR_RETURN(auto vis, ParseEnumOption<v1::Goal::Visibility>("visibility", *v));
    goal->set_visibility(vis);
    mask->add_paths("visibility");
  }
  if (mask->paths_size() == 0) {
    return Usage("nothing to update: give --words, --signs, --priority, --status or --visibility");
  }
  return SendGoalUpdate(c, request);
}

absl::Status RunGoalsAccept(Context& c) {
  v1::UpdateGoalRequest request;
  request.mutable_goal()->set_name(c.Operand(0));
  request.mutable_goal()->set_status(v1::Goal::ACTIVE);
  request.mutable_update_mask()->add_paths("status");
  return SendGoalUpdate(c, request);
}

absl::Status RunGoalsRestate(Context& c) {
  v1::RestateGoalRequest request;
  request.set_name(c.Operand(0));
  ASSIGN_OR_RETURN(std::string text, c.Required("text", "TEXT"));
  request.set_restatement(text);
  request.set_etag(c.args.Value("etag").value_or(""));
  return UnaryAndPrint<v1::Goal>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::GoalService>(conn)->RestateGoal(ctx, request, r);
  });
}

absl::Status SendVerdict(Context& c, v1::Understanding::Verdict verdict,
                         const std::string& correction) {
  v1::ConfirmUnderstandingRequest request;
  request.set_name(c.Operand(0));
  request.set_verdict(verdict);
  request.set_correction(correction);
  request.set_etag(c.args.Value("etag").value_or(""));
  return UnaryAndPrint<v1::Goal>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::GoalService>(conn)->ConfirmUnderstanding(ctx, request, r);
  });
}

absl::Status RunGoalsConfirm(Context& c) {
  return SendVerdict(c, v1::Understanding::CONFIRMED, "");
}

absl::Status RunGoalsCorrect(Context& c) {
  ASSIGN_OR_RETURN(std::string text, c.Required("text", "TEXT"));
  return SendVerdict(c, v1::Understanding::CORRECTED, text);
}

// ---- hypotheses ----

absl::Status RunHypothesesShare(Context& c) {
  v1::ShareHypothesisRequest request;
  request.set_parent(c.Operand(0));
  v1::Hypothesis* h = request.mutable_hypothesis();
  ASSIGN_OR_RETURN(std::string kind, c.Required("kind", "professional|personal|theoretical"));
  ASSIGN_OR_RETURN(std::string text, c.Required("text", "TEXT"));
  ASSIGN_OR_RETURN(std::string tentativeness,
                   c.Required("tentativeness", "wondering|considering|fairly-confident"));
  ASSIGN_OR_RETURN(auto k, ParseEnumOption<v1::Hypothesis::Kind>("kind", kind));
  ASSIGN_OR_RETURN(auto t,
                   ParseEnumOption<v1::Hypothesis::Tentativeness>("tentativeness", tentativeness));
  h->set_kind(k);
  h->set_text(text);
  h->set_tentativeness(t);
  if (std::optional<std::string> v = c.args.Value("code"); v.has_value() && !v->empty()) {
    ASSIGN_OR_RETURN(*h->mutable_code(), ParseCode(*v));
  }
  for (const std::string& a : ListOption(c.args, "audience")) h->add_audience(a);
  for (const std::string& g : ListOption(c.args, "related_goal")) h->add_related_goals(g);
  return UnaryAndPrint<v1::Hypothesis>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::HypothesisService>(conn)->ShareHypothesis(ctx, request, r);
  });
}

absl::Status RunHypothesesGet(Context& c) {
  v1::GetHypothesisRequest request;
  request.set_name(c.Operand(0));
  return UnaryAndPrint<v1::Hypothesis>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::HypothesisService>(conn)->GetHypothesis(ctx, request, r);
  });
}

absl::Status RunHypothesesList(Context& c) {
  return ListPages<v1::ListHypothesesResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListHypothesesRequest request;
        request.set_parent(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::HypothesisService>(conn)->ListHypotheses(ctx, request, r);
      });
}

absl::Status RunHypothesesRevisions(Context& c) {
  return ListPages<v1::ListHypothesisRevisionsResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListHypothesisRevisionsRequest request;
        request.set_name(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::HypothesisService>(conn)->ListHypothesisRevisions(ctx, request, r);
      });
}

absl::Status RunHypothesesRevise(Context& c) {
  v1::ReviseHypothesisRequest request;
  v1::Hypothesis* h = request.mutable_hypothesis();
  h->set_name(c.Operand(0));
  auto* mask = request.mutable_update_mask();
  if (std::optional<std::string> v = c.args.Value("text"); v.has_value()) {
    h->set_text(*v);
    mask->add_paths("text");
  }
  if (std::optional<std::string> v = c.args.Value("kind"); v.has_value()) {
    ASSIGN_OR_RETURN(auto k, ParseEnumOption<v1::Hypothesis::Kind>("kind", *v));
    h->set_kind(k);
    mask->add_paths("kind");
  }
  if (std::optional<std::string> v = c.args.Value("tentativeness"); v.has_value()) {
    ASSIGN_OR_RETURN(auto t, ParseEnumOption<v1::Hypothesis::Tentativeness>("tentativeness", *v));
    h->set_tentativeness(t);
    mask->add_paths("tentativeness");
  }
  if (std::optional<std::string> v = c.args.Value("status"); v.has_value()) {
    ASSIGN_OR_RETURN(auto s, ParseEnumOption<v1::Hypothesis::Status>("status", *v));
    h->set_status(s);
    mask->add_paths("status");
  }
  if (std::optional<std::string> v = c.args.Value("code"); v.has_value()) {
    // `--code=` removes the code.
    if (!v->empty()) {
      ASSIGN_OR_RETURN(*h->mutable_code(), ParseCode(*v));
    }
    mask->add_paths("code");
  }
  if (c.args.Has("audience")) {
    for (const std::string& a : ListOption(c.args, "audience")) h->add_audience(a);
    mask->add_paths("audience");
  }
  if (c.args.Has("related_goal")) {
    for (const std::string& g : ListOption(c.args, "related_goal")) h->add_related_goals(g);
    mask->add_paths("related_goals");
  }
  if (mask->paths_size() == 0) {
    return Usage(
        "nothing to revise: give --text, --kind, --tentativeness, --status, --code, --audience "
        "or --related_goal");
  }
  if (std::optional<std::string> etag = c.args.Value("etag"); etag.has_value()) {
    h->mutable_meta()->set_etag(*etag);
  }
  return UnaryAndPrint<v1::Hypothesis>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::HypothesisService>(conn)->ReviseHypothesis(ctx, request, r);
  });
}

absl::Status RunHypothesesRespond(Context& c) {
  v1::RespondToHypothesisRequest request;
  request.set_name(c.Operand(0));
  ASSIGN_OR_RETURN(std::string stance,
                   c.Required("stance", "fits|partly-fits|does-not-fit|not-now|want-to-talk"));
  ASSIGN_OR_RETURN(auto s, ParseEnumOption<v1::HypothesisResponse::Stance>("stance", stance));
  request.set_stance(s);
  request.set_words(c.args.Value("words").value_or(""));
  request.set_etag(c.args.Value("etag").value_or(""));
  return UnaryAndPrint<v1::Hypothesis>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::HypothesisService>(conn)->RespondToHypothesis(ctx, request, r);
  });
}

// ---- reviews ----

absl::Status RunReviewsStart(Context& c) {
  v1::StartReviewRequest request;
  request.set_parent(c.Operand(0));
  for (const std::string& g : c.args.Values("goal")) request.mutable_review()->add_goals(g);
  return UnaryAndPrint<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::ReviewService>(conn)->StartReview(ctx, request, r);
  });
}

absl::Status RunReviewsGet(Context& c) {
  v1::GetReviewRequest request;
  request.set_name(c.Operand(0));
  return UnaryAndPrint<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::ReviewService>(conn)->GetReview(ctx, request, r);
  });
}

absl::Status RunReviewsList(Context& c) {
  return ListPages<v1::ListReviewsResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListReviewsRequest request;
        request.set_parent(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::ReviewService>(conn)->ListReviews(ctx, request, r);
      });
}

absl::Status RunReviewsRevisions(Context& c) {
  return ListPages<v1::ListReviewRevisionsResponse>(
      c, [&](Connection* conn, auto* ctx, const std::string& token, int32_t size, auto* r) {
        v1::ListReviewRevisionsRequest request;
        request.set_name(c.Operand(0));
        request.set_page_token(token);
        request.set_page_size(size);
        return StubFor<v1::ReviewService>(conn)->ListReviewRevisions(ctx, request, r);
      });
}

absl::Status RunReviewsRate(Context& c) {
  v1::SubmitRatingsRequest request;
  request.set_name(c.Operand(0));
  for (const std::string& value : c.args.Values("goal")) {
    // The goal name holds no '=', so the score follows the last one.
    size_t eq = value.rfind('=');
    if (eq == std::string::npos || eq == 0) {
      return Usage(absl::StrCat("--goal: \"", value, "\" is not GOAL_NAME=SCORE"));
    }
    ASSIGN_OR_RETURN(double score, ParseDoubleOption("goal", value.substr(eq + 1)));
    v1::Rating* rating = request.add_ratings();
    rating->set_goal(value.substr(0, eq));
    rating->set_score(score);
  }
  for (const std::string& value : c.args.Values("instrument")) {
    size_t eq = value.find('=');
    if (eq == std::string::npos || eq == 0 || eq + 1 == value.size()) {
      return Usage(
          absl::StrCat("--instrument: \"", value, "\" is not ID=ITEM,ITEM,… (ORS=7.5,6,8,7)"));
    }
    v1::InstrumentScore* score = request.add_instrument_scores();
    score->set_instrument(value.substr(0, eq));
    for (absl::string_view item : absl::StrSplit(value.substr(eq + 1), ',')) {
      ASSIGN_OR_RETURN(double number,
                       ParseDoubleOption("instrument", absl::StripAsciiWhitespace(item)));
      score->add_items(number);
    }
  }
  if (request.ratings_size() == 0 && request.instrument_scores_size() == 0) {
    return Usage("nothing to rate: give --goal=GOAL_NAME=SCORE or --instrument=ID=ITEMS");
  }
  request.set_etag(c.args.Value("etag").value_or(""));
  return UnaryAndPrint<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::ReviewService>(conn)->SubmitRatings(ctx, request, r);
  });
}

absl::Status RunReviewsReflect(Context& c) {
  v1::AddReflectionRequest request;
  request.set_name(c.Operand(0));
  ASSIGN_OR_RETURN(std::string words, c.Required("words", "TEXT"));
  request.set_words(words);
  request.set_etag(c.args.Value("etag").value_or(""));
  return UnaryAndPrint<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::ReviewService>(conn)->AddReflection(ctx, request, r);
  });
}

absl::Status RunReviewsNextStep(Context& c) {
  v1::AddNextStepRequest request;
  request.set_name(c.Operand(0));
  ASSIGN_OR_RETURN(std::string text, c.Required("text", "TEXT"));
  request.mutable_next_step()->set_text(text);
  request.mutable_next_step()->set_owner(c.args.Value("owner").value_or(""));
  request.mutable_next_step()->set_due_date(c.args.Value("due").value_or(""));
  request.set_etag(c.args.Value("etag").value_or(""));
  return UnaryAndPrint<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::ReviewService>(conn)->AddNextStep(ctx, request, r);
  });
}

absl::Status RunReviewsSign(Context& c) {
  v1::SignReviewRequest request;
  request.set_name(c.Operand(0));
  request.set_dissent(c.args.Value("dissent").value_or(""));
  if (std::optional<std::string> etag = c.args.Value("etag"); etag.has_value()) {
    request.set_etag(*etag);
  } else {
    // Sign what was just read; if it changes before the signature lands the server answers
    // ABORTED rather than binding the signature to content the signer has not seen.
    v1::GetReviewRequest get;
    get.set_name(c.Operand(0));
    ASSIGN_OR_RETURN(v1::Review current,
                     Unary<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
                       return StubFor<v1::ReviewService>(conn)->GetReview(ctx, get, r);
                     }));
    c.err << "signing " << current.name() << " " << current.meta().etag() << ", content sha256 "
          << current.content_sha256() << "\n";
    request.set_etag(current.meta().etag());
  }
  return UnaryAndPrint<v1::Review>(c, [&](Connection* conn, auto* ctx, auto* r) {
    request.set_request_id(conn->RequestId());
    return StubFor<v1::ReviewService>(conn)->SignReview(ctx, request, r);
  });
}

absl::Status RunProgress(Context& c) {
  v1::GetProgressRequest request;
  request.set_episode(c.Operand(0));
  return UnaryAndPrint<v1::Progress>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::ReviewService>(conn)->GetProgress(ctx, request, r);
  });
}

// ---- sync ----

absl::Status RunSyncStatus(Context& c) {
  v1::GetSyncStatusRequest request;
  request.set_include_outcomes(c.args.Flag("include_outcomes"));
  return UnaryAndPrint<v1::SyncStatus>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::SyncService>(conn)->GetSyncStatus(ctx, request, r);
  });
}

// `sync retry|discard HOST OUTBOX_ID`: the two operands of a parked change.
absl::StatusOr<int64_t> OutboxIdOperand(Context& c) {
  ASSIGN_OR_RETURN(int64_t id, ParseIntOption("OUTBOX_ID", c.Operand(1)));
  if (id < 1) return Usage("OUTBOX_ID: a parked change's id from `sync status`, 1 or more");
  return id;
}

absl::Status RunSyncRetry(Context& c) {
  v1::RetryParkedChangeRequest request;
  request.set_host(c.Operand(0));
  ASSIGN_OR_RETURN(int64_t id, OutboxIdOperand(c));
  request.set_outbox_id(id);
  request.set_include_outcome(c.args.Flag("include_outcome"));
  return UnaryAndPrint<v1::RetryParkedChangeResponse>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::SyncService>(conn)->RetryParkedChange(ctx, request, r);
  });
}

absl::Status RunSyncDiscard(Context& c) {
  v1::DiscardParkedChangeRequest request;
  request.set_host(c.Operand(0));
  ASSIGN_OR_RETURN(int64_t id, OutboxIdOperand(c));
  request.set_outbox_id(id);
  request.set_include_outcome(c.args.Flag("include_outcome"));
  return UnaryAndPrint<v1::ParkedSyncChange>(c, [&](Connection* conn, auto* ctx, auto* r) {
    return StubFor<v1::SyncService>(conn)->DiscardParkedChange(ctx, request, r);
  });
}

absl::Status RunCall(Context& c) {
  ASSIGN_OR_RETURN(Connection * connection, c.Connect());
  ASSIGN_OR_RETURN(std::unique_ptr<google::protobuf::Message> response,
                   CallByName(*connection, c.Operand(0),
                              c.operands.size() > 1 ? c.Operand(1) : std::string("{}")));
  return c.printer.Print(*response);
}

// ---- the table ----

struct Command {
  std::string group = "";
  std::string verb = "";  // empty for one-word commands
  std::string synopsis = "";
  std::string summary = "";
  size_t operands = 0;      // resource names etc. after the command words
  size_t max_operands = 0;  // when some are optional; 0 means `operands`
  std::set<std::string> options = {};
  std::set<std::string> repeatable = {};
  std::function<absl::Status(Context&)> run = nullptr;
};

const std::vector<Command>& Commands() {
  static const auto* const kCommands = new std::vector<Command>{
      {.group = "token",
       .synopsis = "token --as=REF [--ttl=8h]",
       .summary = "print a development token (no server call)",
       .options = {"ttl"},
       .run = RunToken},

      {.group = "episodes",
       .verb = "create",
       .synopsis = "episodes create --client=REF[=Display] ... --family=REF[=Display] ... "
                   "--therapist=REF[=Display] ... --format=client-led|therapist-led "
                   "--modality=individual|couple|family|group",
       .summary = "open an episode (a therapist, who must be among the participants)",
       .options = {"client", "family", "therapist", "format", "modality"},
       .repeatable = {"client", "family", "therapist"},
       .run = RunEpisodesCreate},
      {.group = "episodes",
       .verb = "get",
       .synopsis = "episodes get EPISODE",
       .summary = "show an episode",
       .operands = 1,
       .run = RunEpisodesGet},
      {.group = "episodes",
       .verb = "list",
       .synopsis = "episodes list [--page_size=N --page_token=T]",
       .summary = "the episodes you take part in",
       .options = {"page_size", "page_token"},
       .run = RunEpisodesList},
      {.group = "episodes",
       .verb = "revisions",
       .synopsis = "episodes revisions EPISODE",
       .summary = "every revision, oldest first",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunEpisodesRevisions},
      {.group = "episodes",
       .verb = "update",
       .synopsis = "episodes update EPISODE [--format=F] [--modality=M] [--status=active|closed] "
                   "[--client/--family/--therapist=REF[=Display] ... (replaces the participants)] "
                   "[--etag=E]",
       .summary = "change an episode (therapists)",
       .operands = 1,
       .options = {"format", "modality", "status", "client", "family", "therapist", "etag"},
       .repeatable = {"client", "family", "therapist"},
       .run = RunEpisodesUpdate},
      {.group = "episodes",
       .verb = "watch",
       .synopsis = "episodes watch EPISODE [--after=SEQ] [--count=N] [--timeout=S]",
       .summary = "print events as they happen (--count: stop after N; --timeout: after S seconds)",
       .operands = 1,
       .options = {"after", "count"},
       .run = RunEpisodesWatch},

      {.group = "goals",
       .verb = "create",
       .synopsis = "goals create EPISODE --words=TEXT [--signs=TEXT] [--priority=N] [--owner=REF] "
                   "[--visibility=episode|owner-and-therapists] [--proposed]",
       .summary = "write a goal in your own words (a therapist transcribing one: --owner; it "
                  "stays proposed until the owner accepts it)",
       .operands = 1,
       .options = {"words", "signs", "priority", "owner", "visibility", "proposed"},
       .run = RunGoalsCreate},
      {.group = "goals",
       .verb = "get",
       .synopsis = "goals get GOAL",
       .summary = "show a goal",
       .operands = 1,
       .run = RunGoalsGet},
      {.group = "goals",
       .verb = "list",
       .synopsis = "goals list EPISODE",
       .summary = "the goals you may see",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunGoalsList},
      {.group = "goals",
       .verb = "revisions",
       .synopsis = "goals revisions GOAL",
       .summary = "every revision, oldest first",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunGoalsRevisions},
      {.group = "goals",
       .verb = "update",
       .synopsis = "goals update GOAL [--words=TEXT] [--signs=TEXT] [--priority=N] "
                   "[--status=active|paused|achieved|let-go] [--visibility=V] [--etag=E]",
       .summary = "change your goal (its owner)",
       .operands = 1,
       .options = {"words", "signs", "priority", "status", "visibility", "etag"},
       .run = RunGoalsUpdate},
      {.group = "goals",
       .verb = "accept",
       .synopsis = "goals accept GOAL [--etag=E]",
       .summary = "accept a proposed goal as your own (its owner)",
       .operands = 1,
       .options = {"etag"},
       .run = RunGoalsAccept},
      {.group = "goals",
       .verb = "restate",
       .synopsis = "goals restate GOAL --text=TEXT [--etag=E]",
       .summary = "say how you understood the goal (therapists)",
       .operands = 1,
       .options = {"text", "etag"},
       .run = RunGoalsRestate},
      {.group = "goals",
       .verb = "confirm",
       .synopsis = "goals confirm GOAL [--etag=E]",
       .summary = "the restatement fits (the goal's owner)",
       .operands = 1,
       .options = {"etag"},
       .run = RunGoalsConfirm},
      {.group = "goals",
       .verb = "correct",
       .synopsis = "goals correct GOAL --text=TEXT [--etag=E]",
       .summary = "correct the restatement in your own words (the goal's owner)",
       .operands = 1,
       .options = {"text", "etag"},
       .run = RunGoalsCorrect},

      {.group = "hypotheses",
       .verb = "share",
       .synopsis = "hypotheses share EPISODE --kind=professional|personal|theoretical --text=TEXT "
                   "--tentativeness=wondering|considering|fairly-confident "
                   "[--code=SYSTEM|CODE|DISPLAY] [--audience=REF ...] [--related_goal=GOAL ...]",
       .summary = "share a thought with the clients (therapists); SYSTEM may also be icd-10-cm, "
                  "icd-10 or snomed",
       .operands = 1,
       .options = {"kind", "text", "tentativeness", "code", "audience", "related_goal"},
       .repeatable = {"audience", "related_goal"},
       .run = RunHypothesesShare},
      {.group = "hypotheses",
       .verb = "get",
       .synopsis = "hypotheses get HYPOTHESIS",
       .summary = "show a hypothesis and the answers to it",
       .operands = 1,
       .run = RunHypothesesGet},
      {.group = "hypotheses",
       .verb = "list",
       .synopsis = "hypotheses list EPISODE",
       .summary = "the hypotheses you may see",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunHypothesesList},
      {.group = "hypotheses",
       .verb = "revisions",
       .synopsis = "hypotheses revisions HYPOTHESIS",
       .summary = "every revision, oldest first",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunHypothesesRevisions},
      {.group = "hypotheses",
       .verb = "revise",
       .synopsis = "hypotheses revise HYPOTHESIS [--text=TEXT] [--kind=K] [--tentativeness=T] "
                   "[--status=open|set-aside|held-together] [--audience=REF ...] "
                   "[--related_goal=GOAL ...] [--code=SYSTEM|CODE|DISPLAY] [--etag=E]",
       .summary = "revise a hypothesis (therapists); an empty --audience=, --related_goal= or "
                  "--code= clears it",
       .operands = 1,
       .options = {"text", "kind", "tentativeness", "status", "audience", "related_goal", "code",
                   "etag"},
       .repeatable = {"audience", "related_goal"},
       .run = RunHypothesesRevise},
      {.group = "hypotheses",
       .verb = "respond",
       .synopsis = "hypotheses respond HYPOTHESIS "
                   "--stance=fits|partly-fits|does-not-fit|not-now|want-to-talk [--words=TEXT] "
                   "[--etag=E]",
       .summary = "answer a hypothesis for yourself",
       .operands = 1,
       .options = {"stance", "words", "etag"},
       .run = RunHypothesesRespond},

      {.group = "reviews",
       .verb = "start",
       .synopsis = "reviews start EPISODE [--goal=GOAL ...]",
       .summary = "start a review (default: every active goal that everyone may see)",
       .operands = 1,
       .options = {"goal"},
       .repeatable = {"goal"},
       .run = RunReviewsStart},
      {.group = "reviews",
       .verb = "get",
       .synopsis = "reviews get REVIEW",
       .summary = "show a review",
       .operands = 1,
       .run = RunReviewsGet},
      {.group = "reviews",
       .verb = "list",
       .synopsis = "reviews list EPISODE",
       .summary = "the episode's reviews",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunReviewsList},
      {.group = "reviews",
       .verb = "revisions",
       .synopsis = "reviews revisions REVIEW",
       .summary = "every revision, oldest first",
       .operands = 1,
       .options = {"page_size", "page_token"},
       .run = RunReviewsRevisions},
      {.group = "reviews",
       .verb = "rate",
       .synopsis = "reviews rate REVIEW [--goal=GOAL=SCORE ...] [--instrument=ORS=7.5,6,8,7 ...] "
                   "[--etag=E]",
       .summary = "your own scores: goals 0-10, instrument items in the instrument's order",
       .operands = 1,
       .options = {"goal", "instrument", "etag"},
       .repeatable = {"goal", "instrument"},
       .run = RunReviewsRate},
      {.group = "reviews",
       .verb = "reflect",
       .synopsis = "reviews reflect REVIEW --words=TEXT [--etag=E]",
       .summary = "your reflection (replaces your earlier one)",
       .operands = 1,
       .options = {"words", "etag"},
       .run = RunReviewsReflect},
      {.group = "reviews",
       .verb = "next-step",
       .synopsis = "reviews next-step REVIEW --text=TEXT [--owner=REF] [--due=YYYY-MM-DD] "
                   "[--etag=E]",
       .summary = "add a next step in everyday life",
       .operands = 1,
       .options = {"text", "owner", "due", "etag"},
       .run = RunReviewsNextStep},
      {.group = "reviews",
       .verb = "sign",
       .synopsis = "reviews sign REVIEW [--etag=E] [--dissent=TEXT]",
       .summary = "sign the content you read (without --etag: the current content, whose "
                  "sha256 goes to stderr)",
       .operands = 1,
       .options = {"etag", "dissent"},
       .run = RunReviewsSign},

      {.group = "progress",
       .synopsis = "progress EPISODE",
       .summary = "per goal and rater the series of scores, instrument totals, flags",
       .operands = 1,
       .run = RunProgress},
      {.group = "sync",
       .verb = "status",
       .synopsis = "sync status [--include_outcomes]",
       .summary = "per host EHR: cursor, lag, pushed, retried, parked changes, last error (the "
                  "server's --operators only; --include_outcomes adds what the host said)",
       .options = {"include_outcomes"},
       .run = RunSyncStatus},
      {.group = "sync",
       .verb = "retry",
       .synopsis = "sync retry HOST OUTBOX_ID [--include_outcome]",
       .summary = "push a parked change to the host again now; unparked if the host takes it, "
                  "else kept with the new outcome (operators only)",
       .operands = 2,
       .options = {"include_outcome"},
       .run = RunSyncRetry},
      {.group = "sync",
       .verb = "discard",
       .synopsis = "sync discard HOST OUTBOX_ID [--include_outcome]",
       .summary = "unpark a change without pushing it: it stays in collabcare's record, only not "
                  "in that host (operators only; also acknowledges HOST#from-ehr conflicts)",
       .operands = 2,
       .options = {"include_outcome"},
       .run = RunSyncDiscard},
      {.group = "call",
       .synopsis = "call SERVICE.METHOD ['JSON']",
       .summary = "any unary method, e.g. call GoalService.GetGoal "
                  "'{\"name\":\"episodes/a/goals/b\"}'",
       .operands = 1,
       .max_operands = 2,
       .run = RunCall},
      {.group = "help", .synopsis = "help", .summary = "this text"},
  };
  return *kCommands;
}

const Command* FindCommand(const std::vector<std::string>& words, size_t* used) {
  if (words.empty()) return nullptr;
  for (const Command& command : Commands()) {
    if (command.group != words[0]) continue;
    if (command.verb.empty()) {
      *used = 1;
      return &command;
    }
    if (words.size() > 1 && command.verb == words[1]) {
      *used = 2;
      return &command;
    }
  }
  return nullptr;
}

bool IsGroup(const std::string& word) {
  for (const Command& command : Commands()) {
    if (command.group == word && !command.verb.empty()) return true;
  }
  return false;
}

std::vector<std::string> VerbsOf(const std::string& group) {
  std::vector<std::string> verbs;
  for (const Command& command : Commands()) {
    if (command.group == group) verbs.push_back(command.verb);
  }
  return verbs;
}

absl::StatusOr<absl::Duration> ParseTimeout(const std::string& value) {
  double seconds = 0;
  absl::Duration timeout;
  if (absl::SimpleAtod(value, &seconds)) {
    timeout = absl::Seconds(seconds);
  } else if (!absl::ParseDuration(value, &timeout)) {
    return Usage(absl::StrCat("--timeout: \"", value, "\" is not a number of seconds"));
  }
  if (timeout <= absl::ZeroDuration() || timeout > absl::Hours(24 * 365)) {
    return Usage("--timeout: more than 0 seconds");
  }
  return timeout;
}

}  // namespace

std::string UsageText() {
  std::string text =
      "collabctl: the command-line client of collabcare (collaborative care records)\n"
      "\n"
      "usage: collabctl [options] COMMAND [ARGUMENTS] [options]\n"
      "  EPISODE is episodes/ID; GOAL, HYPOTHESIS and REVIEW are full names such as\n"
      "  episodes/ID/goals/ID. Options are --name=value or --name value; '...' means repeatable.\n"
      "\n"
      "commands:\n";
  for (const Command& command : Commands()) {
    absl::StrAppend(&text, "  ", command.synopsis, "\n      ", command.summary, "\n");
  }
  text +=
      "\n"
      "options for every command:\n"
      "  --server=HOST:PORT     default $COLLABCARE_SERVER or 127.0.0.1:50051\n"
      "  --token=JWT            bearer token; default $COLLABCARE_TOKEN\n"
      "  --as=REF               act as Patient/123, Practitioner/9 ...: mints a 1-hour token with\n"
      "                         the development key of `collabcare-server --dev`\n"
      "  --data_dir=DIR         where that key lives; default $COLLABCARE_DATA_DIR or "
      "./collabcare-data\n"
      "  --tls_ca=PEM           use TLS and verify the server with this CA\n"
      "  --tls_cert=PEM --tls_key=PEM   client certificate (mutual TLS)\n"
      "  --tls_server_name=NAME name to check in the server certificate\n"
      "  --json                 print responses in the proto3 JSON mapping (watch: one per line)\n"
      "  -q, --quiet            print only resource names\n"
      "  --request_id=ID        idempotency key of a change; default: a fresh random one\n"
      "  --timeout=SECONDS      deadline of each call (default 30; watch: none unless given)\n"
      "  -h, --help             this text\n"
      "\n"
      "exit status: 0 done, 1 the server refused or failed (error: CODE: message), 2 usage error\n";
  return text;
}

absl::Status Run(const std::vector<std::string>& argv, std::ostream& out, std::ostream& err) {
  ASSIGN_OR_RETURN(Args args, Args::Parse(argv));
  const std::vector<std::string>& words = args.words();
  if (args.Flag("help") || (!words.empty() && words[0] == "help")) {
    out << UsageText();
    return absl::OkStatus();
  }
  if (words.empty()) return Usage("no command given");
  size_t used = 0;
  const Command* command = FindCommand(words, &used);
  if (command == nullptr) {
    if (IsGroup(words[0])) {
      return Usage(absl::StrCat(words[0], ": ",
                                words.size() > 1 ? absl::StrCat("unknown command ", words[1])
                                                 : std::string("which command?"),
                                "; one of ", absl::StrJoin(VerbsOf(words[0]), ", ")));
    }
    return Usage(absl::StrCat("unknown command ", words[0]));
  }
  std::vector<std::string> operands(words.begin() + used, words.end());
  if (operands.size() < command->operands ||
      operands.size() > std::max(command->operands, command->max_operands)) {
    return Usage(absl::StrCat("usage: collabctl ", command->synopsis));
  }
  std::set<std::string> allowed = GlobalOptions();
  allowed.insert(command->options.begin(), command->options.end());
  RETURN_IF_ERROR(args.Check(allowed, command->repeatable));

  if (args.Flag("json") && args.Flag("quiet")) return Usage("give --json or --quiet, not both");
  OutputMode mode = args.Flag("json")    ? OutputMode::kJson
                    : args.Flag("quiet") ? OutputMode::kQuiet
                                         : OutputMode::kHuman;
  Context context(args, std::move(operands), out, err, mode);
  context.data_dir = args.Value("data_dir").value_or(EnvOr("COLLABCARE_DATA_DIR", kDefaultDataDir));
  ConnectionOptions& connection = context.connection_options;
  connection.server = args.Value("server").value_or(EnvOr("COLLABCARE_SERVER", kDefaultServer));
  connection.tls_ca = args.Value("tls_ca").value_or("");
  connection.tls_cert = args.Value("tls_cert").value_or("");
  connection.tls_key = args.Value("tls_key").value_or("");
  connection.tls_server_name = args.Value("tls_server_name").value_or("");
  if (std::optional<std::string> timeout = args.Value("timeout"); timeout.has_value()) {
    ASSIGN_OR_RETURN(connection.timeout, ParseTimeout(*timeout));
    connection.timeout_given = true;
  }
  if (std::optional<std::string> id = args.Value("request_id"); id.has_value()) {
    if (id->empty()) return Usage("--request_id: empty");
    connection.request_id = *id;
  }
  return command->run(context);
}

}  // namespace collabcare::cli
