#pragma once
// User text quoted inside an error message: 'text'. Control bytes show as
// \xNN (a newline or NUL must not break the message, or cut it when it is
// interned as a C string), and past 96 bytes the text is cut with "..." (a
// caller feeding huge garbage cannot make one interned error pin megabytes).

#include <string>
#include <string_view>

namespace actorstack {

std::string quoted(std::string_view text);

}  // namespace actorstack
