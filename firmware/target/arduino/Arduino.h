// Stand-in for the ESP8266 Arduino core's Arduino.h: declarations only (see README.md).
#pragma once

#include <cstddef>
#include <cstdint>
#include <cstring>

typedef bool boolean;
typedef uint8_t byte;

#define HIGH 0x1
#define LOW 0x0
#define INPUT 0x00
#define OUTPUT 0x01

// The NodeMCU board's pin names (the core's variants/nodemcu/pins_arduino.h): GPIO numbers.
static const uint8_t D0 = 16, D1 = 5, D2 = 4, D3 = 0, D4 = 2, D5 = 14, D6 = 12, D7 = 13, D8 = 15;
static const uint8_t RX = 3, TX = 1;

void pinMode(uint8_t pin, uint8_t mode);
void digitalWrite(uint8_t pin, uint8_t val);
int digitalRead(uint8_t pin);
unsigned long millis();
void delay(unsigned long ms);

// The ESP8266's hardware random number register.
#define RANDOM_REG32 (*(volatile uint32_t*)0x3FF20E44)

// SNTP: the core's configTime(timezone_sec, daylightOffset_sec, servers...).
void configTime(int timezone_sec, int daylightOffset_sec, const char* server1,
                const char* server2 = nullptr, const char* server3 = nullptr);

class String {
 public:
  String(const char* cstr = "");
  String(const String& other);
  ~String();
  String& operator=(const String& rhs);
  const char* c_str() const;
  unsigned int length() const;
  friend String operator+(const String& lhs, const char* rhs);
};

enum SerialConfig { SERIAL_8N1 = 0x1c };
enum SerialMode { SERIAL_FULL = 0, SERIAL_RX_ONLY = 1, SERIAL_TX_ONLY = 2 };

class HardwareSerial {
 public:
  void begin(unsigned long baud, SerialConfig config, SerialMode mode);
  size_t printf(const char* format, ...) __attribute__((format(printf, 2, 3)));
  size_t println(const char* text);
};
extern HardwareSerial Serial;
