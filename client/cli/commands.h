// avesctl's commands, one function per command (a group's verb is the
// second word): each checks its own options, makes its calls through
// client/lib and returns the exit code (0 ok, 1 a negative answer such as
// NOT_SERVING or a failed index check, 2 an error, 3 the command's own
// "partly": schema not current, rows refused).
#ifndef AVES_CLIENT_CLI_COMMANDS_H_
#define AVES_CLIENT_CLI_COMMANDS_H_

#include "client/cli/arguments.h"

namespace aves::cli {

int HealthCommand(const Invocation& invocation);
int PoolCommand(const Invocation& invocation);
int MigrationsCommand(const Invocation& invocation);
int VerifyIndexesCommand(const Invocation& invocation);
int SlowQueriesCommand(const Invocation& invocation);
int TopCommand(const Invocation& invocation);
int CacheCommand(const Invocation& invocation);        // get | put | purge
int AnnotationsCommand(const Invocation& invocation);  // image | queue | review
int JobsCommand(const Invocation& invocation);  // list | get | errors | watch
int LoadCommand(const Invocation& invocation);  // load FILE
int MaintenanceCommand(const Invocation& invocation);  // analyze

}  // namespace aves::cli

#endif  // AVES_CLIENT_CLI_COMMANDS_H_
