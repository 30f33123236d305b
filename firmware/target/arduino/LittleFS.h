// Stand-in for the ESP8266 Arduino core's LittleFS.h and FS.h: declarations only (see README.md).
#pragma once

#include <Arduino.h>

enum SeekMode { SeekSet = 0, SeekCur = 1, SeekEnd = 2 };

class File {
 public:
  explicit operator bool() const;
  size_t size() const;
  size_t write(const uint8_t* buf, size_t size);
  int available();
  int read();
  size_t read(uint8_t* buf, size_t size);
  bool seek(uint32_t pos, SeekMode mode);
  void close();
};

class FS {
 public:
  bool begin();
  File open(const char* path, const char* mode);
  File open(const String& path, const char* mode);
};
extern FS LittleFS;
