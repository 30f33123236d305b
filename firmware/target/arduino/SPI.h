// Stand-in for the ESP8266 Arduino core's SPI.h: declarations only (see README.md).
#pragma once

class SPIClass {
 public:
  void begin();
};
extern SPIClass SPI;
