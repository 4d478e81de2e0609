// Renders collabcare records for people, scripts and shell pipelines.
#include "plugin/cli/printer.h"

#include <map>
#include <string>
#include <vector>

#include "absl/strings/match.h"
#include "absl/strings/str_cat.h"
#include "absl/strings/str_join.h"
#include "absl/time/time.h"
#include "collabcare/v1/sync_service.pb.h"
#include "google/protobuf/descriptor.h"
#include "google/protobuf/util/json_util.h"
#include "plugin/common/status_macros.h"

namespace collabcare::cli {
namespace {

namespace v1 = ::collabcare::v1;

// Replaces control characters (C0, DEL and the UTF-8 encoded C1 range, which some terminals
// read as escape sequences) with '?', keeping newlines and tabs.
std::string Clean(absl::string_view text) {
  std::string out;
  out.reserve(text.size());
  for (size_t i = 0; i < text.size(); ++i) {
    unsigned char c = static_cast<unsigned char>(text[i]);
    if (c == '\n' || c == '\t') {
      out.push_back(static_cast<char>(c));
    } else if (c < 0x20 || c == 0x7f) {
      out.push_back('?');
    } else if (c == 0xc2 && i + 1 < text.size() &&
               static_cast<unsigned char>(text[i + 1]) >= 0x80 &&
               static_cast<unsigned char>(text[i + 1]) <= 0x9f) {
      out.push_back('?');
      ++i;
    } else {
      out.push_back(static_cast<char>(c));
    }
  }
  return out;
}

// A person's words in quotes; continuation lines are indented by `indent` spaces.
std::string Quote(absl::string_view text, int indent = 6) {
  std::string cleaned = Clean(text);
  std::string out = "\"";
  for (char c : cleaned) {
    out.push_back(c);
    if (c == '\n') out.append(indent, ' ');
  }
  out.push_back('"');
  return out;
}

std::string Time(const google::protobuf::Timestamp& ts) {
  if (ts.seconds() == 0 && ts.nanos() == 0) return "?";
  absl::Time t = absl::FromUnixSeconds(ts.seconds()) + absl::Nanoseconds(ts.nanos());
  return absl::FormatTime("%Y-%m-%d %H:%M %Z", t, absl::LocalTimeZone());
}

std::string Num(double value) { return absl::StrCat(value); }

std::string MetaLine(const v1::RecordMeta& meta) {
  std::string line =
      absl::StrCat("  created ", Time(meta.create_time()), " by ", Clean(meta.created_by()));
  if (meta.revision() > 1) {
    absl::StrAppend(&line, " · r", meta.revision(), " ", Time(meta.update_time()), " by ",
                    Clean(meta.updated_by()));
  }
  return line + "\n";
}

// Pads to `width` columns (ASCII references only; names never get here).
std::string Pad(absl::string_view s, size_t width) {
  std::string out = Clean(s);
  if (out.size() < width) out.append(width - out.size(), ' ');
  return out;
}

std::string RenderEpisode(const v1::Episode& e) {
  std::string out =
      absl::StrCat("episode ", Clean(e.name()), "  ", Clean(e.meta().etag()), "  ",
                   v1::Episode::Status_Name(e.status()), "  ", v1::Episode::Format_Name(e.format()),
                   "  ", v1::Episode::Modality_Name(e.modality()), "\n");
  for (const v1::Participant& p : e.participants()) {
    absl::StrAppend(&out, "  ", Pad(v1::Participant::Role_Name(p.role()), 14), Clean(p.person()));
    if (!p.display().empty()) absl::StrAppend(&out, "  ", Quote(p.display()));
    out += "\n";
  }
  return out + MetaLine(e.meta());
}

std::string RenderGoal(const v1::Goal& g) {
  std::string out = absl::StrCat("goal ", Clean(g.name()), "  ", Clean(g.meta().etag()), "  ",
                                 v1::Goal::Status_Name(g.status()), "  owner ", Clean(g.owner()));
  if (g.priority() != 0) absl::StrAppend(&out, "  priority ", g.priority());
  if (g.visibility() == v1::Goal::OWNER_AND_THERAPISTS) {
    out += "  (seen by owner and therapists only)";
  }
  absl::StrAppend(&out, "\n    words:  ", Quote(g.words(), 13), "\n");
  if (!g.everyday_signs().empty()) {
    absl::StrAppend(&out, "    signs:  ", Quote(g.everyday_signs(), 13), "\n");
  }
  if (g.has_understanding() && !g.understanding().restatement().empty()) {
    const v1::Understanding& u = g.understanding();
    absl::StrAppend(&out, "    restated by ", Clean(u.restated_by()), ": ",
                    Quote(u.restatement(), 8), "  (", v1::Understanding::Verdict_Name(u.verdict()),
                    ")\n");
    if (u.verdict() == v1::Understanding::CORRECTED) {
      absl::StrAppend(&out, "    corrected by ", Clean(g.owner()), ": ", Quote(u.correction(), 8),
                      "\n");
    }
  }
  if (!g.transcribed_by().empty()) {
    absl::StrAppend(&out, "    transcribed by ", Clean(g.transcribed_by()), "\n");
  }
  return out + MetaLine(g.meta());
}

std::string RenderHypothesis(const v1::Hypothesis& h) {
  std::string out = absl::StrCat(
      "hypothesis ", Clean(h.name()), "  ", Clean(h.meta().etag()), "  ",
      v1::Hypothesis::Status_Name(h.status()), "  ", v1::Hypothesis::Kind_Name(h.kind()), "  ",
      v1::Hypothesis::Tentativeness_Name(h.tentativeness()), "  by ", Clean(h.author()), "\n");
  absl::StrAppend(&out, "    text:  ", Quote(h.text(), 12), "\n");
  if (h.has_code() && !h.code().code().empty()) {
    absl::StrAppend(&out, "    code:  ", Clean(h.code().code()));
    if (!h.code().display().empty()) absl::StrAppend(&out, " ", Quote(h.code().display()));
    if (!h.code().system().empty()) absl::StrAppend(&out, "  (", Clean(h.code().system()), ")");
    out += "\n";
  }
  std::vector<std::string> audience;
  for (const std::string& a : h.audience()) audience.push_back(Clean(a));
  absl::StrAppend(
      &out, "    audience: ",
      audience.empty() ? "every client and family member" : absl::StrJoin(audience, ", "), "\n");
  if (h.related_goals_size() > 0) {
    std::vector<std::string> goals;
    for (const std::string& g : h.related_goals()) goals.push_back(Clean(g));
    absl::StrAppend(&out, "    related goals: ", absl::StrJoin(goals, ", "), "\n");
  }
  for (const v1::HypothesisResponse& r : h.responses()) {
    absl::StrAppend(&out, "    ", Clean(r.person()), " answered r", r.answered_revision(), ": ",
                    v1::HypothesisResponse::Stance_Name(r.stance()));
    if (!r.words().empty()) absl::StrAppend(&out, "  ", Quote(r.words(), 8));
    out += "\n";
  }
  if (h.responses_size() == 0) out += "    no answers yet\n";
  return out + MetaLine(h.meta());
}

// "episodes/e/goals/g" → "goals/g" inside a review of episode e: the ratings stay readable and
// still name the goal unambiguously.
std::string InEpisode(absl::string_view name, absl::string_view review_name) {
  size_t first = review_name.find('/');
  size_t second = first == absl::string_view::npos ? first : review_name.find('/', first + 1);
  if (second != absl::string_view::npos) {
    absl::string_view prefix = review_name.substr(0, second + 1);
    if (absl::StartsWith(name, prefix)) name.remove_prefix(prefix.size());
  }
  return Clean(name);
}

std::string RenderReview(const v1::Review& r) {
  std::string out = absl::StrCat("review ", Clean(r.name()), "  ", Clean(r.meta().etag()), "  ",
                                 v1::Review::Status_Name(r.status()), "  content sha256 ",
                                 Clean(r.content_sha256()), "\n");
  out += "  goals:\n";
  for (const std::string& g : r.goals()) absl::StrAppend(&out, "    ", Clean(g), "\n");
  if (r.goals_size() == 0) out += "    (none)\n";

  // Each rater's own scores, in the order they first appear; never combined across people.
  std::vector<std::string> raters;
  std::map<std::string, std::vector<std::string>> scores;
  auto add = [&](const std::string& rater, std::string text) {
    if (scores.find(rater) == scores.end()) raters.push_back(rater);
    scores[rater].push_back(std::move(text));
  };
  for (const v1::Rating& rating : r.ratings()) {
    add(rating.rater(), absl::StrCat(InEpisode(rating.goal(), r.name()), " ", Num(rating.score())));
  }
  out += "  ratings:\n";
  for (const std::string& rater : raters) {
    absl::StrAppend(&out, "    ", Pad(rater, 16), absl::StrJoin(scores[rater], " · "), "\n");
  }
  if (raters.empty()) out += "    (none)\n";

  raters.clear();
  scores.clear();
  for (const v1::InstrumentScore& s : r.instrument_scores()) {
    std::vector<std::string> items;
    for (double item : s.items()) items.push_back(Num(item));
    add(s.rater(), absl::StrCat(Clean(s.instrument()), " total ", Num(s.total()), " (",
                                absl::StrJoin(items, ", "), ")"));
  }
  out += "  instruments:\n";
  for (const std::string& rater : raters) {
    absl::StrAppend(&out, "    ", Pad(rater, 16), absl::StrJoin(scores[rater], " · "), "\n");
  }
  if (raters.empty()) out += "    (none)\n";

  out += "  reflections:\n";
  for (const v1::Reflection& f : r.reflections()) {
    absl::StrAppend(&out, "    ", Clean(f.participant()), ": ", Quote(f.words(), 8), "\n");
  }
  if (r.reflections_size() == 0) out += "    (none)\n";

  out += "  next steps:\n";
  for (const v1::NextStep& s : r.next_steps()) {
    absl::StrAppend(&out, "    - ", Quote(s.text(), 8));
    if (!s.owner().empty()) absl::StrAppend(&out, "  owner ", Clean(s.owner()));
    if (!s.due_date().empty()) absl::StrAppend(&out, "  due ", Clean(s.due_date()));
    if (!s.added_by().empty()) absl::StrAppend(&out, "  (added by ", Clean(s.added_by()), ")");
    out += "\n";
  }
  if (r.next_steps_size() == 0) out += "    (none)\n";

  out += "  signatures:\n";
  for (const v1::Signature& s : r.signatures()) {
    absl::StrAppend(&out, "    ", Pad(s.participant(), 16), "signed ", Time(s.sign_time()),
                    "  sha256 ", Clean(s.content_sha256().substr(0, 12)), "…");
    if (!s.dissent().empty()) absl::StrAppend(&out, "  dissent: ", Quote(s.dissent(), 8));
    out += "\n";
  }
  if (r.signatures_size() == 0) out += "    (none)\n";
  return out + MetaLine(r.meta());
}

// "4 → 6 → 7.5*": a series of points, * marking scores from reviews not signed yet.
std::string Series(const google::protobuf::RepeatedPtrField<v1::ScorePoint>& points,
                   bool* any_unsigned) {
  std::vector<std::string> values;
  for (const v1::ScorePoint& p : points) {
    values.push_back(absl::StrCat(Num(p.value()), p.signed_() ? "" : "*"));
    if (!p.signed_()) *any_unsigned = true;
  }
  return absl::StrJoin(values, " → ");
}

std::string RenderProgress(const v1::Progress& p) {
  std::string out = absl::StrCat("progress ", Clean(p.episode()), "\n");
  bool any_unsigned = false;
  std::string subject;
  for (const v1::GoalSeries& s : p.goals()) {
    if (s.goal() != subject) {
      subject = s.goal();
      absl::StrAppend(&out, "  goal ", Clean(subject), "\n");
    }
    absl::StrAppend(&out, "    ", Pad(s.rater(), 16), Series(s.points(), &any_unsigned), "\n");
  }
  if (p.goals_size() == 0) out += "  no goal ratings yet\n";
  subject.clear();
  for (const v1::InstrumentSeries& s : p.instruments()) {
    if (s.instrument() != subject) {
      subject = s.instrument();
      absl::StrAppend(&out, "  instrument ", Clean(subject), " (totals)\n");
    }
    absl::StrAppend(&out, "    ", Pad(s.rater(), 16), Series(s.points(), &any_unsigned), "\n");
  }
  out += "  flags:\n";
  for (const v1::ProgressFlag& f : p.flags()) {
    std::vector<std::string> raters;
    for (const std::string& r : f.raters()) raters.push_back(Clean(r));
    absl::StrAppend(&out, "    ", v1::ProgressFlag::Kind_Name(f.kind()), "  ", Clean(f.subject()),
                    "  ", absl::StrJoin(raters, ", "), "  value ", Num(f.value()), " (threshold ",
                    Num(f.threshold()), ")");
    if (!f.review().empty()) absl::StrAppend(&out, "  in ", Clean(f.review()));
    out += "\n";
    if (!f.source().empty()) absl::StrAppend(&out, "      source: ", Clean(f.source()), "\n");
  }
  if (p.flags_size() == 0) out += "    (none)\n";
  if (any_unsigned) out += "  * from a review not signed yet\n";
  return out;
}

const v1::RecordMeta* EventRecordMeta(const v1::EpisodeEvent& e) {
  switch (e.record_case()) {
    case v1::EpisodeEvent::kEpisode:
      return &e.episode().meta();
    case v1::EpisodeEvent::kGoal:
      return &e.goal().meta();
    case v1::EpisodeEvent::kHypothesis:
      return &e.hypothesis().meta();
    case v1::EpisodeEvent::kReview:
      return &e.review().meta();
    case v1::EpisodeEvent::RECORD_NOT_SET:
      break;
  }
  return nullptr;
}

std::string RenderEvent(const v1::EpisodeEvent& e) {
  std::string out = absl::StrCat("#", e.sequence(), " ", v1::EpisodeEvent::Kind_Name(e.kind()), " ",
                                 Clean(e.name()), " by ", Clean(e.actor()));
  if (const v1::RecordMeta* meta = EventRecordMeta(e); meta != nullptr) {
    absl::StrAppend(&out, "  ", Clean(meta->etag()));
  }
  absl::StrAppend(&out, "  ", Time(e.time()), "\n");
  return out;
}

// One block per host connection, then its oldest parked changes. The outcome (only with
// --include_outcomes) is the host's text, so it is cleaned like anyone's words.
std::string RenderSyncStatus(const v1::SyncStatus& s) {
  if (s.hosts().empty()) return "no host EHR configured (--host_profile=none)\n";
  std::string out;
  for (const v1::HostSyncStatus& h : s.hosts()) {
    if (!out.empty()) out += "\n";
    absl::StrAppend(&out, "host ", Clean(h.host()), "  profile ", Clean(h.profile()),
                    h.worker_running() ? "" : "  (no worker in this server)", "\n");
    absl::StrAppend(&out, "  cursor ", h.cursor(), "  lag ", h.lag(), "  pushed ", h.pushed(),
                    "  retried ", h.retried(), "  parked ", h.parked(),
                    h.parked_count_capped() ? "+" : "", "  last error ",
                    h.last_error().empty() ? "none" : Clean(h.last_error()), "\n");
    for (const v1::ParkedSyncChange& p : h.parked_changes()) {
      absl::StrAppend(&out, "  parked #", p.outbox_id(), "  ", Clean(p.name()), " r", p.revision(),
                      "  ", Time(p.park_time()), "  ", Clean(p.code()), "\n");
      if (!p.outcome().empty())
        absl::StrAppend(&out, "    outcome: ", Quote(p.outcome(), 14), "\n");
    }
    if (h.parked() > h.parked_changes_size()) {
      absl::StrAppend(&out, "  … ", h.parked() - h.parked_changes_size(), " more parked\n");
    }
  }
  return out;
}

// What `sync retry` did, and the parking `sync discard` removed.
std::string RenderRetry(const v1::RetryParkedChangeResponse& r) {
  std::string out = r.pushed() ? "pushed; no longer parked\n"
                               : absl::StrCat("not pushed: ", Clean(r.code()), "\n");
  if (r.has_parked()) {
    const v1::ParkedSyncChange& p = r.parked();
    absl::StrAppend(&out, "still parked #", p.outbox_id(), "  ", Clean(p.name()), " r",
                    p.revision(), "  ", Time(p.park_time()), "  ", Clean(p.code()), "\n");
    if (!p.outcome().empty()) absl::StrAppend(&out, "  outcome: ", Quote(p.outcome(), 11), "\n");
  }
  return out;
}

std::string RenderDiscarded(const v1::ParkedSyncChange& p) {
  std::string out =
      absl::StrCat("discarded #", p.outbox_id(), "  ", Clean(p.name()), " r", p.revision(), "  ",
                   Clean(p.code()), " (kept in collabcare, not written to the host)\n");
  if (!p.outcome().empty()) absl::StrAppend(&out, "  outcome: ", Quote(p.outcome(), 11), "\n");
  return out;
}

// The record's own name (`name`, or `episode` for Progress), for -q.
std::string NameOf(const google::protobuf::Message& message) {
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  for (const char* field_name : {"name", "episode"}) {
    const google::protobuf::FieldDescriptor* f = d->FindFieldByName(field_name);
    if (f != nullptr && !f->is_repeated() &&
        f->type() == google::protobuf::FieldDescriptor::TYPE_STRING) {
      return message.GetReflection()->GetString(message, f);
    }
  }
  return "";
}

}  // namespace

absl::Status Printer::Print(const google::protobuf::Message& message) {
  if (mode_ == OutputMode::kJson) return PrintJson(message, /*pretty=*/true);
  if (PrintRecord(message)) return absl::OkStatus();
  // A List… response: print each record of its repeated message fields.
  const google::protobuf::Descriptor* d = message.GetDescriptor();
  const google::protobuf::Reflection* reflection = message.GetReflection();
  bool is_list = false;
  int printed = 0;
  for (int i = 0; i < d->field_count(); ++i) {
    const google::protobuf::FieldDescriptor* f = d->field(i);
    if (!f->is_repeated() || f->type() != google::protobuf::FieldDescriptor::TYPE_MESSAGE) {
      continue;
    }
    is_list = true;
    for (int j = 0; j < reflection->FieldSize(message, f); ++j) {
      const google::protobuf::Message& item = reflection->GetRepeatedMessage(message, f, j);
      if (mode_ == OutputMode::kHuman && printed > 0) out_ << "\n";
      if (!PrintRecord(item)) return PrintJson(message, /*pretty=*/true);
      ++printed;
    }
  }
  if (!is_list) return PrintJson(message, /*pretty=*/true);
  if (printed == 0 && mode_ == OutputMode::kHuman) out_ << "(none)\n";
  out_.flush();
  return absl::OkStatus();
}

absl::Status Printer::PrintEvent(const v1::EpisodeEvent& event) {
  if (mode_ == OutputMode::kJson) {
    RETURN_IF_ERROR(PrintJson(event, /*pretty=*/false));
  } else if (mode_ == OutputMode::kQuiet) {
    out_ << Clean(event.name()) << "\n";
  } else {
    out_ << RenderEvent(event);
  }
  out_.flush();
  return absl::OkStatus();
}

absl::Status Printer::PrintJson(const google::protobuf::Message& message, bool pretty) {
  google::protobuf::util::JsonPrintOptions options;
  options.add_whitespace = pretty;
  options.always_print_primitive_fields = false;
  options.preserve_proto_field_names = false;
  std::string json;
  auto status = google::protobuf::util::MessageToJsonString(message, &json, options);
  if (!status.ok()) {
    return absl::InternalError(absl::StrCat("cannot print as JSON: ", status.message().ToString()));
  }
  if (json.empty() || json.back() != '\n') json.push_back('\n');
  out_ << json;
  out_.flush();
  return absl::OkStatus();
}

bool Printer::PrintRecord(const google::protobuf::Message& message) {
  std::string text;
  if (const auto* e = dynamic_cast<const v1::Episode*>(&message)) {
    text = RenderEpisode(*e);
  } else if (const auto* g = dynamic_cast<const v1::Goal*>(&message)) {
    text = RenderGoal(*g);
  } else if (const auto* h = dynamic_cast<const v1::Hypothesis*>(&message)) {
    text = RenderHypothesis(*h);
  } else if (const auto* r = dynamic_cast<const v1::Review*>(&message)) {
    text = RenderReview(*r);
  } else if (const auto* p = dynamic_cast<const v1::Progress*>(&message)) {
    text = RenderProgress(*p);
  } else if (const auto* ev = dynamic_cast<const v1::EpisodeEvent*>(&message)) {
    text = RenderEvent(*ev);
  } else if (const auto* s = dynamic_cast<const v1::SyncStatus*>(&message)) {
    if (mode_ == OutputMode::kQuiet) {  // the host names
      for (const v1::HostSyncStatus& h : s->hosts()) out_ << Clean(h.host()) << "\n";
      out_.flush();
      return true;
    }
    text = RenderSyncStatus(*s);
  } else if (const auto* retry = dynamic_cast<const v1::RetryParkedChangeResponse*>(&message)) {
    if (mode_ == OutputMode::kQuiet) {
      out_ << (retry->pushed() ? "OK" : Clean(retry->code())) << "\n";
      out_.flush();
      return true;
    }
    text = RenderRetry(*retry);
  } else if (const auto* parked = dynamic_cast<const v1::ParkedSyncChange*>(&message)) {
    text = RenderDiscarded(*parked);
  } else {
    return false;
  }
  if (mode_ == OutputMode::kQuiet) {
    out_ << Clean(NameOf(message)) << "\n";
  } else {
    out_ << text;
  }
  out_.flush();
  return true;
}

}  // namespace collabcare::cli
