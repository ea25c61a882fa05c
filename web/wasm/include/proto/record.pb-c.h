/* form.h names the protobuf record in prototypes the phone never calls
   (form_values); the WebAssembly build (build.sh) needs only its name. */
#ifndef RW_RECORD_PB_C_H
#define RW_RECORD_PB_C_H
typedef struct Field__Record Field__Record;
#endif
