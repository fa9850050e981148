// SPDX-License-Identifier: MIT
#include "oracle_graphs.h"

#include <cstdlib>
#include <fstream>
#include <memory>
#include <set>
#include <sstream>
#include <stdexcept>

namespace vm::graph::test {

const Json& Json::operator[](std::string_view key) const {
  static const Json null_value;
  for (const auto& [k, v] : members)
    if (k == key) return v;
  return null_value;
}

namespace {

class Parser {
 public:
  explicit Parser(std::string_view s) : s_(s) {}

  Json document() {
    Json v = value(0);
    skip();
    if (i_ != s_.size()) fail("trailing characters");
    return v;
  }

 private:
  [[noreturn]] void fail(const std::string& what) const {
    throw std::runtime_error("json: " + what + " at offset " + std::to_string(i_));
  }
  void skip() {
    while (i_ < s_.size() && (s_[i_] == ' ' || s_[i_] == '\n' || s_[i_] == '\r' || s_[i_] == '\t')) ++i_;
  }
  bool eat(char c) {
    skip();
    if (i_ < s_.size() && s_[i_] == c) {
      ++i_;
      return true;
    }
    return false;
  }
  void expect(char c) {
    if (!eat(c)) fail(std::string("expected '") + c + "'");
  }
  bool word(std::string_view w) {
    if (s_.substr(i_, w.size()) != w) return false;
    i_ += w.size();
    return true;
  }

  std::string string_body() {
    expect('"');
    std::string out;
    while (i_ < s_.size() && s_[i_] != '"') {
      char c = s_[i_++];
      if (c != '\\') {
        out += c;
        continue;
      }
      if (i_ >= s_.size()) break;
      char e = s_[i_++];
      switch (e) {
        case 'n': out += '\n'; break;
        case 't': out += '\t'; break;
        case 'r': out += '\r'; break;
        case 'b': out += '\b'; break;
        case 'f': out += '\f'; break;
        case 'u': {
          if (i_ + 4 > s_.size()) fail("short \\u escape");
          unsigned code = static_cast<unsigned>(std::stoul(std::string(s_.substr(i_, 4)), nullptr, 16));
          i_ += 4;
          out += code < 0x80 ? static_cast<char>(code) : '?';  // only compared, never shown
          break;
        }
        default: out += e;  // \" \\ \/
      }
    }
    if (i_ >= s_.size()) fail("unterminated string");
    ++i_;
    return out;
  }

  Json value(int depth) {
    if (depth > 64) fail("too deep");
    skip();
    if (i_ >= s_.size()) fail("unexpected end");
    Json v;
    char c = s_[i_];
    if (c == '{') {
      ++i_;
      v.kind = Json::Kind::object;
      if (eat('}')) return v;
      do {
        skip();
        std::string key = string_body();
        expect(':');
        v.members.emplace_back(std::move(key), value(depth + 1));
      } while (eat(','));
      expect('}');
    } else if (c == '[') {
      ++i_;
      v.kind = Json::Kind::array;
      if (eat(']')) return v;
      do v.items.push_back(value(depth + 1));
      while (eat(','));
      expect(']');
    } else if (c == '"') {
      v.kind = Json::Kind::string;
      v.text = string_body();
    } else if (word("null")) {
    } else if (word("true")) {
      v.kind = Json::Kind::boolean;
      v.boolean = true;
    } else if (word("false")) {
      v.kind = Json::Kind::boolean;
    } else {
      size_t b = i_;
      while (i_ < s_.size() && std::string_view("+-0123456789.eE").find(s_[i_]) != std::string_view::npos) ++i_;
      if (b == i_) fail("unexpected character");
      std::string num(s_.substr(b, i_ - b));
      v.kind = Json::Kind::number;
      v.real = std::strtod(num.c_str(), nullptr);
      v.integer = std::strtoll(num.c_str(), nullptr, 10);
    }
    return v;
  }

  std::string_view s_;
  size_t i_ = 0;
};

std::string host_name(const Json& host) { return host.is_null() ? std::string() : host.text; }

// Edge types by name, from the file's own conventions.edge_types (Trace Compass's codes).
EdgeState state_of(const Json& type) {
  const Json& code = oracles()["conventions"]["edge_types"][type.text];
  if (code.kind != Json::Kind::number) throw std::runtime_error("unknown edge type " + type.text);
  return static_cast<EdgeState>(code.integer);
}

}  // namespace

Json parse_json(std::string_view text) { return Parser(text).document(); }

const Json& oracles() {
  static const Json doc = [] {
    std::string path = std::string(VM_SHARED_DIR) + "/research/critical-path-oracles.json";
    std::ifstream in(path);
    if (!in) throw std::runtime_error("cannot read " + path);
    std::stringstream text;
    text << in.rdbuf();
    return parse_json(text.str());
  }();
  return doc;
}

const Json* oracle_test(std::string_view id) {
  for (const Json& t : oracles()["tests"].items)
    if (t["id"].text == id) return &t;
  return nullptr;
}

WorkerKey OracleGraph::key(const Json& host, const Json& tid) {
  auto it = machine_of_host.try_emplace(host_name(host), static_cast<int64_t>(machine_of_host.size())).first;
  return WorkerKey{it->second, tid.integer, -1};
}

std::string build_graph(const Json& object, OracleGraph& g) {
  // The horizontal edge ending at each (machine, tid, to_ns).
  std::map<std::tuple<int64_t, int64_t, uint64_t>, const Json*> h_into;
  for (const Json& e : object["horizontal_edges"].items) {
    WorkerKey k = g.key(e["host"], e["tid"]);
    h_into[{k.machine_id, k.tid, static_cast<uint64_t>(e["to_ns"].integer)}] = &e;
  }
  for (const Json& w : object["workers"].items) {
    WorkerKey k = g.key(w["host"], w["tid"]);
    WorkerId id = g.graph.worker(k, w["name"].text);
    bool first = true;
    uint64_t prev = 0;
    for (const Json& t : w["vertices_ns"].items) {
      uint64_t ts = static_cast<uint64_t>(t.integer);
      auto it = h_into.find({k.machine_id, k.tid, ts});
      VertexId v;
      if (!first && it != h_into.end()) {
        if (static_cast<uint64_t>((*it->second)["from_ns"].integer) != prev)
          return "a horizontal edge to " + std::to_string(ts) + " does not start at the previous vertex";
        v = g.graph.append(id, ts, state_of((*it->second)["type"]), (*it->second)["qualifier"].text);
        h_into.erase(it);
      } else {
        v = g.graph.add(id, ts);
      }
      g.vertex_at[{k.machine_id, k.tid, ts}] = v;
      first = false;
      prev = ts;
    }
  }
  if (!h_into.empty()) return "a horizontal edge joins vertices that are not consecutive";
  for (const Json& e : object["vertical_edges"].items) {
    WorkerKey from = g.key(e["from_host"], e["from_tid"]), to = g.key(e["to_host"], e["to_tid"]);
    auto a = g.vertex_at.find({from.machine_id, from.tid, static_cast<uint64_t>(e["from_ns"].integer)});
    auto b = g.vertex_at.find({to.machine_id, to.tid, static_cast<uint64_t>(e["to_ns"].integer)});
    if (a == g.vertex_at.end() || b == g.vertex_at.end()) return "a vertical edge to or from an unlisted vertex";
    if (!g.graph.link(a->second, b->second, state_of(e["type"]), e["qualifier"].text))
      return "a vertical edge was refused at " + std::to_string(e["from_ns"].integer);
  }
  return {};
}

namespace {

// One edge as checkEquality sees it.
struct EdgeView {
  std::string type;
  uint64_t dur = 0;
  WorkerKey from, to;
  std::string qualifier;
};

std::string show(const EdgeView* e) {
  if (!e) return "(none)";
  return e->type + " dur " + std::to_string(e->dur) + " from " + std::to_string(e->from.machine_id) + "/" +
         std::to_string(e->from.tid) + " to " + std::to_string(e->to.machine_id) + "/" + std::to_string(e->to.tid) +
         " qualifier '" + e->qualifier + "'";
}

std::string upper(std::string_view s) {
  std::string out(s);
  for (char& c : out) c = static_cast<char>(c >= 'a' && c <= 'z' ? c - 'a' + 'A' : c);
  return out;
}

}  // namespace

std::vector<std::string> compare_graph(const Json& expected, OracleGraph& names, const ExecGraph& actual,
                                       bool strict_vertex_count) {
  std::vector<std::string> diffs;
  using At = std::tuple<int64_t, int64_t, uint64_t>;
  // The expected edges of each vertex, in the four directions.
  std::map<At, EdgeView> out_h, in_h, out_v, in_v;
  for (const Json& e : expected["horizontal_edges"].items) {
    WorkerKey k = names.key(e["host"], e["tid"]);
    EdgeView v{e["type"].text, static_cast<uint64_t>(e["to_ns"].integer - e["from_ns"].integer), k, k,
               e["qualifier"].text};
    out_h[{k.machine_id, k.tid, static_cast<uint64_t>(e["from_ns"].integer)}] = v;
    in_h[{k.machine_id, k.tid, static_cast<uint64_t>(e["to_ns"].integer)}] = v;
  }
  for (const Json& e : expected["vertical_edges"].items) {
    WorkerKey a = names.key(e["from_host"], e["from_tid"]), b = names.key(e["to_host"], e["to_tid"]);
    EdgeView v{e["type"].text, static_cast<uint64_t>(e["to_ns"].integer - e["from_ns"].integer), a, b,
               e["qualifier"].text};
    out_v[{a.machine_id, a.tid, static_cast<uint64_t>(e["from_ns"].integer)}] = v;
    in_v[{b.machine_id, b.tid, static_cast<uint64_t>(e["to_ns"].integer)}] = v;
  }
  // Worker sets.
  std::set<std::pair<int64_t, int64_t>> want, got;
  for (const Json& w : expected["workers"].items) {
    WorkerKey k = names.key(w["host"], w["tid"]);
    want.insert({k.machine_id, k.tid});
  }
  for (const Worker& w : actual.workers()) got.insert({w.key.machine_id, w.key.tid});
  if (want != got)
    diffs.push_back("worker sets differ: expected " + std::to_string(want.size()) + ", got " +
                    std::to_string(got.size()));
  auto actual_edge = [&](const Edge* e) -> std::unique_ptr<EdgeView> {
    if (!e) return nullptr;
    const Vertex &a = actual.vertex(e->from), &b = actual.vertex(e->to);
    return std::make_unique<EdgeView>(EdgeView{upper(edge_state_name(e->state)), b.ts - a.ts,
                                               actual.workers()[a.worker].key, actual.workers()[b.worker].key,
                                               std::string(actual.qualifier(e->qualifier))});
  };
  for (const Json& w : expected["workers"].items) {
    WorkerKey k = names.key(w["host"], w["tid"]);
    const WorkerId* id = actual.find_worker(k);
    if (!id) continue;
    std::vector<VertexId> vs;
    for (VertexId v = actual.workers()[*id].head; v != kNoVertex; v = actual.next_vertex(v)) vs.push_back(v);
    const auto& ts = w["vertices_ns"].items;
    std::string who = std::to_string(k.machine_id) + "/" + std::to_string(k.tid);
    if (vs.size() < ts.size() || (strict_vertex_count && vs.size() != ts.size()))
      diffs.push_back(who + ": " + std::to_string(vs.size()) + " vertices, expected " + std::to_string(ts.size()));
    for (size_t i = 0; i < ts.size() && i < vs.size(); ++i) {
      uint64_t t = static_cast<uint64_t>(ts[i].integer);
      if (actual.vertex(vs[i]).ts != t) {
        diffs.push_back(who + " vertex " + std::to_string(i) + ": ts " + std::to_string(actual.vertex(vs[i]).ts) +
                        ", expected " + std::to_string(t));
        continue;
      }
      At at{k.machine_id, k.tid, t};
      const std::pair<const char*, std::pair<const std::map<At, EdgeView>*, const Edge*>> dirs[] = {
          {"out_h", {&out_h, actual.out_h(vs[i])}},
          {"in_h", {&in_h, actual.in_h(vs[i])}},
          {"out_v", {&out_v, actual.out_v(vs[i])}},
          {"in_v", {&in_v, actual.in_v(vs[i])}}};
      for (const auto& [dir, pair] : dirs) {
        auto it = pair.first->find(at);
        const EdgeView* want_e = it == pair.first->end() ? nullptr : &it->second;
        std::unique_ptr<EdgeView> got_e = actual_edge(pair.second);
        bool same = !want_e == !got_e;
        if (same && want_e)
          same = want_e->type == got_e->type && want_e->dur == got_e->dur && want_e->from == got_e->from &&
                 want_e->to == got_e->to && want_e->qualifier == got_e->qualifier;
        if (!same)
          diffs.push_back(who + "@" + std::to_string(t) + " " + dir + ": " + show(got_e.get()) + ", expected " +
                          show(want_e));
      }
    }
  }
  return diffs;
}

}  // namespace vm::graph::test
