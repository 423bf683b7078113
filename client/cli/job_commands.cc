// jobs list | get | errors | watch: BatchJobService.
#include <iostream>
#include <string>
#include <vector>

#include <absl/strings/str_cat.h>
#include <absl/strings/str_split.h>

#include "client/cli/commands.h"
#include "client/cli/output.h"
#include "client/lib/batch_job_client.h"
#include "client/lib/channel.h"

namespace aves::cli {
namespace {

namespace v1 = data::v1;

std::string StatusText(v1::JobStatus status) {
  return EnumText(v1::JobStatus_Name(status), sizeof("JOB_STATUS_") - 1);
}

const std::vector<std::string> kJobHeader = {
    "id", "type", "status", "processed", "failed", "created at", "updated at"};

std::vector<std::string> JobRow(const v1::Job& job) {
  return {job.id(),
          job.job_type(),
          StatusText(job.status()),
          absl::StrCat(job.processed_items(), "/", job.total_items()),
          std::to_string(job.failed_items()),
          TimeText(job.created_at()),
          TimeText(job.updated_at())};
}

// Fills statuses and job_type of ListJobs / WatchJobs; false on a bad option.
template <typename Request>
bool FillJobFilter(const CommandOptions& options, Request* request) {
  if (options.Has("status")) {
    for (absl::string_view name :
         absl::StrSplit(options.Get("status"), ',', absl::SkipEmpty())) {
      v1::JobStatus status = v1::JOB_STATUS_UNSPECIFIED;
      if (!ParseEnumOption(std::string(name), "JOB_STATUS_",
                           v1::JobStatus_Parse, &status)) {
        std::cerr << "error: --status wants pending, processing, completed, "
                     "failed or cancelled (comma-separated)\n";
        return false;
      }
      request->add_statuses(status);
    }
  }
  if (options.Has("type")) request->set_job_type(options.Get("type"));
  return true;
}

int List(client::BatchJobClient& client, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"status", "type", "page-size", "page-token"})) return 2;
  v1::ListJobsRequest request;
  if (!FillJobFilter(options, &request)) return 2;
  if (!FillPage(options, &request)) return 2;
  absl::StatusOr<v1::ListJobsResponse> page = client.ListJobs(request);
  if (!page.ok()) return PrintError(page.status());
  if (invocation.json) {
    PrintJson(*page);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {kJobHeader};
  for (const v1::Job& job : page->jobs()) rows.push_back(JobRow(job));
  PrintTable(rows);
  PrintNextPage(page->next_page_token());
  return 0;
}

int Get(client::BatchJobClient& client, const Invocation& invocation) {
  if (!invocation.options.Only({"id"})) return 2;
  absl::StatusOr<v1::Job> job = client.GetJob(invocation.options.Get("id"));
  if (!job.ok()) return PrintError(job.status());
  if (invocation.json) {
    PrintJson(*job);
    return 0;
  }
  PrintTable({{"field", "value"},
              {"id", job->id()},
              {"job_type", job->job_type()},
              {"status", StatusText(job->status())},
              {"total_items", std::to_string(job->total_items())},
              {"processed_items", std::to_string(job->processed_items())},
              {"failed_items", std::to_string(job->failed_items())},
              {"created_at", TimeText(job->created_at())},
              {"started_at", TimeText(job->started_at())},
              {"completed_at", TimeText(job->completed_at())},
              {"updated_at", TimeText(job->updated_at())},
              {"metadata", job->metadata()}});
  return 0;
}

int Errors(client::BatchJobClient& client, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"job", "page-size", "page-token"})) return 2;
  v1::ListJobErrorsRequest request;
  request.set_job_id(options.Get("job"));
  if (!FillPage(options, &request)) return 2;
  absl::StatusOr<v1::ListJobErrorsResponse> page =
      client.ListJobErrors(request);
  if (!page.ok()) return PrintError(page.status());
  if (invocation.json) {
    PrintJson(*page);
    return 0;
  }
  std::vector<std::vector<std::string>> rows = {
      {"id", "item", "item id", "message", "created at"}};
  for (const v1::JobError& error : page->errors()) {
    rows.push_back(
        {std::to_string(error.id()),
         error.has_item_index() ? std::to_string(error.item_index()) : "-",
         error.has_item_id() ? error.item_id() : "-", error.error_message(),
         TimeText(error.created_at())});
  }
  PrintTable(rows);
  PrintNextPage(page->next_page_token());
  return 0;
}

int Watch(client::BatchJobClient& client, const Invocation& invocation) {
  const CommandOptions& options = invocation.options;
  if (!options.Only({"status", "type", "count"})) return 2;
  v1::WatchJobsRequest request;
  if (!FillJobFilter(options, &request)) return 2;
  int64_t count = -1;  // changes to print before stopping; -1: no limit
  if (!options.Int("count", &count)) return 2;
  int64_t changes = 0;
  absl::Status status = client.WatchJobs(request, [&](const auto& event) {
    if (invocation.json) {
      PrintJsonLine(event);
    } else if (event.type() == v1::JOB_EVENT_TYPE_SNAPSHOT_COMPLETE) {
      std::cout << "-- snapshot complete; watching for changes --" << std::endl;
    } else {
      const std::vector<std::string> row = JobRow(event.job());
      std::cout << EnumText(v1::JobEventType_Name(event.type()),
                            sizeof("JOB_EVENT_TYPE_") - 1)
                << "  " << row[0] << "  " << row[1] << "  " << row[2] << "  "
                << row[3] << " processed, " << row[4] << " failed" << std::endl;
    }
    if (event.type() == v1::JOB_EVENT_TYPE_CREATED ||
        event.type() == v1::JOB_EVENT_TYPE_UPDATED ||
        event.type() == v1::JOB_EVENT_TYPE_DELETED) {
      ++changes;
    }
    return count < 0 || changes < count;
  });
  if (!status.ok()) return PrintError(status);
  return 0;
}

}  // namespace

int JobsCommand(const Invocation& invocation) {
  client::BatchJobClient client(ChannelOf(invocation),
                                CallOptionsOf(invocation));
  const std::string& verb = invocation.words[1];
  if (verb == "list") return List(client, invocation);
  if (verb == "get") return Get(client, invocation);
  if (verb == "errors") return Errors(client, invocation);
  if (verb == "watch") return Watch(client, invocation);
  std::cerr << "error: unknown jobs command '" << verb
            << "' (list, get, errors, watch)\n";
  return 2;
}

}  // namespace aves::cli
