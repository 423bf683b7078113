#include "client/cli/arguments.h"

#include <absl/strings/match.h>

namespace aves::cli {

std::string CommandOptions::Get(const std::string& name) const {
  auto it = values_.find(name);
  return it == values_.end() ? std::string() : it->second;
}

bool CommandOptions::Only(std::initializer_list<const char*> allowed) const {
  for (const auto& [name, value] : values_) {
    bool known = false;
    for (const char* candidate : allowed) known |= name == candidate;
    if (!known) {
      std::cerr << "error: unknown option --" << name << "\n";
      return false;
    }
  }
  return true;
}

ParsedArguments ParseArguments(const std::vector<std::string>& args,
                               const std::string& default_address,
                               const TlsFlags& default_tls) {
  ParsedArguments parsed;
  Invocation invocation;
  invocation.address = default_address;
  invocation.tls = default_tls;
  for (const std::string& arg : args) {
    if (arg == "--help" || arg == "-h") {
      parsed.help = true;
      return parsed;
    }
    if (absl::StartsWith(arg, "--addr=")) {
      invocation.address = arg.substr(7);
    } else if (absl::StartsWith(arg, "--timeout=")) {
      double seconds = 0;
      if (!absl::SimpleAtod(arg.substr(10), &seconds) || seconds <= 0) {
        parsed.error = "--timeout wants a positive number of seconds";
        return parsed;
      }
      invocation.timeout = absl::Seconds(seconds);
    } else if (arg == "--tls") {
      invocation.tls.tls = true;
    } else if (absl::StartsWith(arg, "--ca=")) {
      invocation.tls.ca_file = arg.substr(5);
    } else if (absl::StartsWith(arg, "--cert=")) {
      invocation.tls.cert_file = arg.substr(7);
    } else if (absl::StartsWith(arg, "--key=")) {
      invocation.tls.key_file = arg.substr(6);
    } else if (absl::StartsWith(arg, "--server-name=")) {
      invocation.tls.server_name = arg.substr(14);
    } else if (absl::StartsWith(arg, "--token=")) {
      // A flag beats the environment's token of either kind.
      invocation.tls.token = arg.substr(8);
      invocation.tls.token_file.clear();
    } else if (absl::StartsWith(arg, "--token-file=")) {
      invocation.tls.token_file = arg.substr(13);
      invocation.tls.token.clear();
    } else if (arg == "--json") {
      invocation.json = true;
    } else if (arg == "--atomic") {
      invocation.options.Set("atomic", "true");  // load's switch
    } else if (arg == "--dry-run") {
      invocation.options.Set("dry-run", "true");  // maintenance's switch
    } else if (absl::StartsWith(arg, "--service=")) {
      invocation.service = arg.substr(10);
    } else if (absl::StartsWith(arg, "--") &&
               arg.find('=') != std::string::npos) {
      const size_t eq = arg.find('=');
      invocation.options.Set(arg.substr(2, eq - 2), arg.substr(eq + 1));
    } else if (absl::StartsWith(arg, "-")) {
      parsed.error = "unknown option " + arg;
      parsed.show_usage = true;
      return parsed;
    } else {
      invocation.words.push_back(arg);
    }
  }
  parsed.invocation = std::move(invocation);
  return parsed;
}

}  // namespace aves::cli
