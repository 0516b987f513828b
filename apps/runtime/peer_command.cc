// Parser of the qp2p-peer stdin language (see peer_command.h).
#include "apps/runtime/peer_command.h"

namespace qp2p::peer_command {

namespace {

bool is_blank(char c) { return c == ' ' || c == '\t' || c == '\r' || c == '\n'; }

std::string_view trim(std::string_view s) {
  while (!s.empty() && is_blank(s.front())) s.remove_prefix(1);
  while (!s.empty() && is_blank(s.back())) s.remove_suffix(1);
  return s;
}

// Splits off the first word of `rest` (which must be trimmed on the left), leaving the
// remainder trimmed on the left.
std::string_view next_word(std::string_view& rest) {
  std::size_t end = 0;
  while (end < rest.size() && !is_blank(rest[end])) ++end;
  std::string_view word = rest.substr(0, end);
  rest.remove_prefix(end);
  while (!rest.empty() && is_blank(rest.front())) rest.remove_prefix(1);
  return word;
}

std::vector<std::string_view> words(std::string_view rest) {
  std::vector<std::string_view> out;
  while (!rest.empty()) out.push_back(next_word(rest));
  return out;
}

bool parse_peer(std::string_view text, PeerId* out, std::string* error) {
  if (text.empty()) {
    *error = "missing peer id";
    return false;
  }
  auto id = PeerId::parse(text);
  if (!id) {
    *error = "bad peer id '" + std::string(text.substr(0, 64)) + "'";
    return false;
  }
  *out = *id;
  return true;
}

}  // namespace

bool parse_entry(std::string_view text, std::string* key, std::string* value, std::string* error) {
  const std::size_t eq = text.find('=');
  if (eq == std::string_view::npos) {
    *error = "expected KEY=VALUE, got '" + std::string(text.substr(0, 64)) + "'";
    return false;
  }
  if (eq == 0) {
    *error = "empty key in '" + std::string(text.substr(0, 64)) + "'";
    return false;
  }
  *key = std::string(text.substr(0, eq));
  *value = std::string(text.substr(eq + 1));
  return true;
}

Command parse(std::string_view line) {
  std::string_view rest = trim(line);
  if (rest.empty()) return Empty{};
  const std::string name(next_word(rest));
  std::string error;

  if (name == "publish" || name == "search") {
    auto args = words(rest);
    if (args.empty()) return Invalid{name, "expected at least one KEY=VALUE"};
    wire::MetaEntries entries;
    std::vector<wire::SearchTerm> terms;
    for (std::string_view arg : args) {
      std::string key, value;
      if (!parse_entry(arg, &key, &value, &error)) return Invalid{name, error};
      if (name == "search") {
        wire::SearchTerm term{std::move(key), std::move(value), false};
        if (!term.value.empty() && term.value.back() == '*') {
          term.value.pop_back();
          term.prefix = true;
        }
        terms.push_back(std::move(term));
      } else {
        entries.emplace_back(std::move(key), std::move(value));
      }
    }
    if (name == "publish") return Publish{std::move(entries)};
    return Search{std::move(terms)};
  }
  if (name == "lookup" || name == "watch" || name == "connect" || name == "accept" ||
      name == "close") {
    auto args = words(rest);
    if (args.size() > 1) return Invalid{name, "expected one peer id"};
    PeerId id;
    if (!parse_peer(args.empty() ? std::string_view() : args[0], &id, &error))
      return Invalid{name, error};
    if (name == "lookup") return Lookup{id};
    if (name == "watch") return Watch{id};
    if (name == "connect") return Connect{id};
    if (name == "accept") return Accept{id};
    return Close{id};
  }
  if (name == "send" || name == "tsend" || name == "refuse") {
    PeerId id;
    if (!parse_peer(next_word(rest), &id, &error)) return Invalid{name, error};
    if (name == "refuse") return Refuse{id, std::string(rest)};
    if (rest.empty()) return Invalid{name, "missing message text"};
    if (name == "tsend") return TunnelSend{id, std::string(rest)};
    return Send{id, std::string(rest)};
  }
  if (name == "quit") return Quit{};
  return Invalid{name.substr(0, 64), "unknown command"};
}

}  // namespace qp2p::peer_command
