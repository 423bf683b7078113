// avesctl's command line: global options (--addr, --timeout, --json,
// --service, --help), the command's words ("jobs list"), and the command's
// own --name=value options, which each command checks itself (Only).
#ifndef AVES_CLIENT_CLI_ARGUMENTS_H_
#define AVES_CLIENT_CLI_ARGUMENTS_H_

#include <initializer_list>
#include <iostream>
#include <map>
#include <optional>
#include <string>
#include <vector>

#include <absl/strings/numbers.h>
#include <absl/time/time.h>

#include "client/lib/call.h"
#include "client/lib/channel.h"

namespace aves::cli {

// A command's --name=value options. Getters that can fail print
// "error: ..." to stderr and return false; the command then exits 2.
class CommandOptions {
 public:
  void Set(const std::string& name, std::string value) {
    values_[name] = std::move(value);
  }
  bool Has(const std::string& name) const { return values_.count(name) > 0; }
  // The value of --name, or "" when absent.
  std::string Get(const std::string& name) const;
  // False (naming the first stranger) unless every option given is one of
  // `allowed`.
  bool Only(std::initializer_list<const char*> allowed) const;
  // Parses --name as a whole number into `out` when present.
  template <typename Integer>
  bool Int(const std::string& name, Integer* out) const {
    auto it = values_.find(name);
    if (it == values_.end()) return true;
    if (!absl::SimpleAtoi(it->second, out)) {
      std::cerr << "error: --" << name << " wants a whole number\n";
      return false;
    }
    return true;
  }

 private:
  std::map<std::string, std::string> values_;
};

// Sets a list request's page_size and page_token from --page-size and
// --page-token.
template <typename Request>
bool FillPage(const CommandOptions& options, Request* request) {
  int32_t page_size = 0;
  if (!options.Int("page-size", &page_size)) return false;
  request->set_page_size(page_size);
  request->set_page_token(options.Get("page-token"));
  return true;
}

// --tls, --ca, --cert, --key, --server-name, --token, --token-file
// (defaults from AVES_TLS, AVES_CA_FILE, AVES_CERT_FILE, AVES_KEY_FILE,
// AVES_SERVER_NAME, AVES_TOKEN, AVES_TOKEN_FILE).
struct TlsFlags {
  bool tls = false;
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string server_name;
  std::string token;
  std::string token_file;
};

struct Invocation {
  std::string address;
  TlsFlags tls;
  client::ChannelSecurity security;           // from `tls`, set by main
  absl::Duration timeout = absl::Seconds(5);  // each call's deadline
  bool json = false;
  std::string service;             // health --service
  std::vector<std::string> words;  // the command, e.g. {"jobs", "list"}
  CommandOptions options;
};

// A channel to the invocation's server, secured as its flags say.
inline std::shared_ptr<grpc::Channel> ChannelOf(const Invocation& invocation) {
  return client::MakeChannel(invocation.address, invocation.security);
}

// Each call's deadline, as --timeout asked.
inline client::CallOptions CallOptionsOf(const Invocation& invocation) {
  client::CallOptions options;
  options.timeout = invocation.timeout;
  return options;
}

struct ParsedArguments {
  std::optional<Invocation> invocation;  // nullopt: help, or an error
  bool help = false;                     // --help / -h
  std::string error;                     // what was wrong
  bool show_usage = false;               // print the usage after the error
};

// Parses `args` (without the program name); `default_address` and
// `default_tls` for what the flags do not say.
ParsedArguments ParseArguments(const std::vector<std::string>& args,
                               const std::string& default_address,
                               const TlsFlags& default_tls = {});

}  // namespace aves::cli

#endif  // AVES_CLIENT_CLI_ARGUMENTS_H_
