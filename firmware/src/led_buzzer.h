// zias::Indicator on two LEDs and an active buzzer, played without blocking:
// update() runs from loop() and switches the pins as the patterns say.
#pragma once

#include "feedback.h"
#include "interfaces.h"

class LedBuzzer : public zias::Indicator {
 public:
  void begin();
  void show(const zias::Feedback& feedback) override;
  void update(uint64_t nowMs);

 private:
  void setLights(bool green, bool red);

  zias::Light light_ = zias::Light::None;
  zias::SequencePlayer blink_;
  zias::SequencePlayer beep_;
};
