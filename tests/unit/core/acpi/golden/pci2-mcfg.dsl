/*
 * Intel ACPI Component Architecture
 *
 *
 * ACPI Data Table [MCFG]
 *
 * Format: [HexOffset DecimalOffset ByteLength]  FieldName : FieldValue
 */

[000h 0000   4]                    Signature : "MCFG"    [Memory Mapped Configuration table]
[004h 0004   4]                 Table Length : 0000004C
[008h 0008   1]                     Revision : 01
[009h 0009   1]                     Checksum : AA
[00Ah 0010   6]                       Oem ID : "CELLVM"
[010h 0016   8]                 Oem Table ID : "CVMMCFG "
[018h 0024   4]                 Oem Revision : 00000001
[01Ch 0028   4]              Asl Compiler ID : "CVMM"
[020h 0032   4]        Asl Compiler Revision : 00000001

[024h 0036   8]                     Reserved : 0000000000000000

[02Ch 0044   8]                 Base Address : 00000000E0000000
[034h 0052   2]         Segment Group Number : 0000
[036h 0054   1]             Start Bus Number : 00
[037h 0055   1]               End Bus Number : 00
[038h 0056   4]                     Reserved : 00000000

[03Ch 0060   8]                 Base Address : 00000000E0100000
[044h 0068   2]         Segment Group Number : 0001
[046h 0070   1]             Start Bus Number : 00
[047h 0071   1]               End Bus Number : 00
[048h 0072   4]                     Reserved : 00000000

Raw Table Data: Length 76 (0x4C)

    0000: 4D 43 46 47 4C 00 00 00 01 AA 43 45 4C 4C 56 4D  // MCFGL.....CELLVM
    0010: 43 56 4D 4D 43 46 47 20 01 00 00 00 43 56 4D 4D  // CVMMCFG ....CVMM
    0020: 01 00 00 00 00 00 00 00 00 00 00 00 00 00 00 E0  // ................
    0030: 00 00 00 00 00 00 00 00 00 00 00 00 00 00 10 E0  // ................
    0040: 00 00 00 00 01 00 00 00 00 00 00 00              // ............
