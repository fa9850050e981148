// SPDX-License-Identifier: MIT
// Build-time generator: prints the tables and views of every registered analysis, with their
// one-line descriptions, as a C string macro for sink.vm.sqlite's help (plugin.cpp), so that the
// help always names what the database holds.
//
// usage: vm_schema_help OUTPUT_HEADER

#include <cstdio>
#include <fstream>
#include <iostream>
#include <string>

#include "analysis/registry.h"

namespace {

std::string c_string(const std::string& text) {
  std::string out = "\"";
  for (char c : text) {
    if (c == '"' || c == '\\') out += '\\';
    if (c == '\n') {
      out += "\\n";
      continue;
    }
    out += c;
  }
  return out + "\"";
}

}  // namespace

int main(int argc, char** argv) {
  if (argc != 2) {
    std::cerr << "usage: vm_schema_help OUTPUT_HEADER\n";
    return 2;
  }
  std::string text = "Tables and views, by analysis:\n";
  for (const vm::AnalysisInfo* analysis : vm::registered_analyses()) {
    text += "  " + std::string(analysis->name) + ": " + analysis->help + "\n";
    for (const vm::db::SchemaObject& object : analysis->schema) {
      if (object.kind == vm::db::ObjectKind::index) continue;
      std::string name = std::string("    ") + object.name + (object.kind == vm::db::ObjectKind::view ? " (view)" : "");
      if (name.size() < 32) name.resize(32, ' ');
      text += name + " " + object.description + "\n";
    }
  }
  std::ofstream out(argv[1]);
  out << "#pragma once\n// Generated at build time by plugins/vm/sqlite-sink/schema_help_main.cpp from the\n"
         "// registered analyses' schemas (common/analysis/registry.cpp). Do not edit.\n"
         "#define VM_SQLITE_SCHEMA_HELP \\\n";
  size_t start = 0;
  while (start < text.size()) {
    const size_t end = text.find('\n', start);
    out << "  " << c_string(text.substr(start, end + 1 - start)) << (end + 1 < text.size() ? " \\\n" : "\n");
    start = end + 1;
  }
  if (!out) {
    std::cerr << "vm_schema_help: cannot write " << argv[1] << "\n";
    return 1;
  }
  return 0;
}
