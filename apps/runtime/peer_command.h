// The qp2p-peer stdin language, one command per line, words separated by blanks:
//
//   publish KEY=VALUE...       merge these entries into the published record
//   lookup PEER_ID
//   search KEY=VALUE...        all terms must match (AND); a VALUE ending in '*' is a prefix
//   send PEER_ID TEXT...       TEXT is the rest of the line, inner blanks kept
//   watch PEER_ID
//   connect PEER_ID            ask PEER_ID for a tunnel
//   accept PEER_ID             accept PEER_ID's tunnel request
//   refuse PEER_ID [REASON...] refuse it (REASON is shown to the requester)
//   tsend PEER_ID TEXT...      send TEXT through the tunnel to PEER_ID
//   close PEER_ID              close the tunnel to PEER_ID
//   quit                       log out and exit
//
// Parsing is pure (no I/O) so tests can check it; a bad line yields an error naming the
// command, never an exception.
#pragma once

#include <string>
#include <string_view>
#include <variant>
#include <vector>

#include "stack/identity/identity.h"
#include "stack/wire/control_message.h"
#include "stack/wire/records.h"

namespace qp2p::peer_command {

struct Publish {
  wire::MetaEntries entries;
};
struct Lookup {
  PeerId target;
};
struct Search {
  std::vector<wire::SearchTerm> terms;
};
struct Send {
  PeerId to;
  std::string text;
};
struct Watch {
  PeerId target;
};
struct Connect {
  PeerId peer;
};
struct Accept {
  PeerId peer;
};
struct Refuse {
  PeerId peer;
  std::string reason;
};
struct TunnelSend {
  PeerId to;
  std::string text;
};
struct Close {
  PeerId peer;
};
struct Quit {};
struct Empty {};  // blank line: nothing to do
struct Invalid {
  std::string command;
  std::string reason;
};

using Command = std::variant<Publish, Lookup, Search, Send, Watch, Connect, Accept, Refuse,
                             TunnelSend, Close, Quit, Empty, Invalid>;

Command parse(std::string_view line);

// "KEY=VALUE" (the value may be empty and may contain '='); false with `error` set when the
// '=' is missing or the key is empty. Also used for the --meta flag.
bool parse_entry(std::string_view text, std::string* key, std::string* value, std::string* error);

}  // namespace qp2p::peer_command
