#pragma once
#define COCO_VERSION "0.1.0"
