// Aligned text tables for people (avesctl, avesbench).
#ifndef AVES_CLIENT_LIB_TABLE_H_
#define AVES_CLIENT_LIB_TABLE_H_

#include <ostream>
#include <string>
#include <vector>

namespace aves::client {

// Prints rows as aligned columns; the first row is the header, ruled off.
void PrintTable(std::ostream& out,
                const std::vector<std::vector<std::string>>& rows);

}  // namespace aves::client

#endif  // AVES_CLIENT_LIB_TABLE_H_
