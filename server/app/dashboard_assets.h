// The dashboard's static files (dashboard/static, and Debian's Chart.js as
// chart.min.js), compiled into avesd by cmake/EmbedFiles.cmake: the page
// needs no network and no files at run time.
#ifndef AVES_SERVER_APP_DASHBOARD_ASSETS_H_
#define AVES_SERVER_APP_DASHBOARD_ASSETS_H_

#include <string_view>
#include <vector>

namespace aves::app {

struct DashboardAsset {
  std::string_view filename;  // "index.html", "dashboard.js", "chart.min.js"
  std::string_view contents;
};

const std::vector<DashboardAsset>& DashboardAssets();

}  // namespace aves::app

#endif  // AVES_SERVER_APP_DASHBOARD_ASSETS_H_
