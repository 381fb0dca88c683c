/*
 * Intel ACPI Component Architecture
 *
 * Disassembling to symbolic ASL+ operators
 *
 *
 * Original Table Header:
 *     Signature        "DSDT"
 *     Length           0x00000878 (2168)
 *     Revision         0x02
 *     Checksum         0x9A
 *     OEM ID           "CELLVM"
 *     OEM Table ID     "CVMDSDT "
 *     OEM Revision     0x00000001 (1)
 *     Compiler ID      "CVMM"
 *     Compiler Version 0x00000001 (1)
 */
DefinitionBlock ("", "DSDT", 2, "CELLVM", "CVMDSDT ", 0x00000001)
{
    Name (_S5, Package (0x04)  // _S5_: S5 System State
    {
        0x05,
        Zero,
        Zero,
        Zero
    })
    Scope (\_SB)
    {
        Device (C000)
        {
            Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
            Method (_STA, 0, NotSerialized)  // _STA: Status
            {
                Return (0x0F)
            }
        }

        Device (COM1)
        {
            Name (_HID, EisaId ("PNP0501") /* 16550A-compatible COM Serial Port */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                IO (Decode16,
                    0x03F8,             // Range Minimum
                    0x03F8,             // Range Maximum
                    0x01,               // Alignment
                    0x08,               // Length
                    )
                IRQNoFlags ()
                    {4}
            })
        }

        Device (RTC)
        {
            Name (_HID, EisaId ("PNP0B00") /* AT Real-Time Clock */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                IO (Decode16,
                    0x0070,             // Range Minimum
                    0x0070,             // Range Maximum
                    0x01,               // Alignment
                    0x02,               // Length
                    )
            })
        }

        Device (PWRB)
        {
            Name (_HID, EisaId ("PNP0C0C") /* Power Button Device */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
        }

        Device (GED)
        {
            Name (_HID, "ACPI0013" /* Generic Event Device */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                Interrupt (ResourceConsumer, Edge, ActiveHigh, Exclusive, ,, )
                {
                    0x00000005,
                }
            })
            OperationRegion (GDST, SystemMemory, 0xFEB00000, 0x04)
            Field (GDST, DWordAcc, NoLock, WriteAsZeros)
            {
                GDAT,   32
            }

            Method (_EVT, 1, Serialized)  // _EVT: Event
            {
                Local0 = GDAT /* \_SB_.GED_.GDAT */
                If ((Local0 & One))
                {
                    Notify (\_SB.PWRB, 0x80) // Status Change
                }
            }
        }

        Device (PCI0)
        {
            Name (_HID, EisaId ("PNP0A08") /* PCI Express Bus */)  // _HID: Hardware ID
            Name (_CID, EisaId ("PNP0A03") /* PCI Bus */)  // _CID: Compatible ID
            Name (_SEG, Zero)  // _SEG: PCI Segment
            Name (_UID, Zero)  // _UID: Unique ID
            Name (_BBN, Zero)  // _BBN: BIOS Bus Number
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                WordBusNumber (ResourceProducer, MinFixed, MaxFixed, PosDecode,
                    0x0000,             // Granularity
                    0x0000,             // Range Minimum
                    0x00FF,             // Range Maximum
                    0x0000,             // Translation Offset
                    0x0100,             // Length
                    ,, )
                IO (Decode16,
                    0x0CF8,             // Range Minimum
                    0x0CF8,             // Range Maximum
                    0x01,               // Alignment
                    0x08,               // Length
                    )
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000,             // Granularity
                    0x0000,             // Range Minimum
                    0x0CF7,             // Range Maximum
                    0x0000,             // Translation Offset
                    0x0CF8,             // Length
                    ,, , TypeStatic, DenseTranslation)
                WordIO (ResourceProducer, MinFixed, MaxFixed, PosDecode, EntireRange,
                    0x0000,             // Granularity
                    0x0D00,             // Range Minimum
                    0xFFFF,             // Range Maximum
                    0x0000,             // Translation Offset
                    0xF300,             // Length
                    ,, , TypeStatic, DenseTranslation)
                DWordMemory (ResourceProducer, PosDecode, MinFixed, MaxFixed, NonCacheable, ReadWrite,
                    0x00000000,         // Granularity
                    0xC0000000,         // Range Minimum
                    0xDFFFFFFF,         // Range Maximum
                    0x00000000,         // Translation Offset
                    0x20000000,         // Length
                    ,, , AddressRangeMemory, TypeStatic)
            })
            Name (_PRT, Package (0x80)  // _PRT: PCI Routing Table
            {
                Package (0x04)
                {
                    0xFFFF,
                    Zero,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0xFFFF,
                    One,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0xFFFF,
                    0x02,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0xFFFF,
                    0x03,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0001FFFF,
                    Zero,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0001FFFF,
                    One,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0001FFFF,
                    0x02,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0001FFFF,
                    0x03,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0002FFFF,
                    Zero,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0002FFFF,
                    One,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0002FFFF,
                    0x02,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0002FFFF,
                    0x03,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0003FFFF,
                    Zero,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0003FFFF,
                    One,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0003FFFF,
                    0x02,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0003FFFF,
                    0x03,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0004FFFF,
                    Zero,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0004FFFF,
                    One,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0004FFFF,
                    0x02,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0004FFFF,
                    0x03,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0005FFFF,
                    Zero,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0005FFFF,
                    One,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0005FFFF,
                    0x02,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0005FFFF,
                    0x03,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0006FFFF,
                    Zero,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0006FFFF,
                    One,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0006FFFF,
                    0x02,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0006FFFF,
                    0x03,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0007FFFF,
                    Zero,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0007FFFF,
                    One,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0007FFFF,
                    0x02,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0007FFFF,
                    0x03,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0008FFFF,
                    Zero,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0008FFFF,
                    One,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0008FFFF,
                    0x02,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0008FFFF,
                    0x03,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0009FFFF,
                    Zero,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0009FFFF,
                    One,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0009FFFF,
                    0x02,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0009FFFF,
                    0x03,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x000AFFFF,
                    Zero,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x000AFFFF,
                    One,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x000AFFFF,
                    0x02,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x000AFFFF,
                    0x03,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x000BFFFF,
                    Zero,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x000BFFFF,
                    One,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x000BFFFF,
                    0x02,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x000BFFFF,
                    0x03,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x000CFFFF,
                    Zero,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x000CFFFF,
                    One,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x000CFFFF,
                    0x02,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x000CFFFF,
                    0x03,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x000DFFFF,
                    Zero,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x000DFFFF,
                    One,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x000DFFFF,
                    0x02,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x000DFFFF,
                    0x03,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x000EFFFF,
                    Zero,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x000EFFFF,
                    One,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x000EFFFF,
                    0x02,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x000EFFFF,
                    0x03,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x000FFFFF,
                    Zero,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x000FFFFF,
                    One,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x000FFFFF,
                    0x02,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x000FFFFF,
                    0x03,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0010FFFF,
                    Zero,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0010FFFF,
                    One,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0010FFFF,
                    0x02,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0010FFFF,
                    0x03,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0011FFFF,
                    Zero,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0011FFFF,
                    One,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0011FFFF,
                    0x02,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0011FFFF,
                    0x03,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0012FFFF,
                    Zero,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0012FFFF,
                    One,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0012FFFF,
                    0x02,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0012FFFF,
                    0x03,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0013FFFF,
                    Zero,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0013FFFF,
                    One,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0013FFFF,
                    0x02,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0013FFFF,
                    0x03,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0014FFFF,
                    Zero,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x0014FFFF,
                    One,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0014FFFF,
                    0x02,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0014FFFF,
                    0x03,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0015FFFF,
                    Zero,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x0015FFFF,
                    One,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0015FFFF,
                    0x02,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0015FFFF,
                    0x03,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0016FFFF,
                    Zero,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x0016FFFF,
                    One,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0016FFFF,
                    0x02,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0016FFFF,
                    0x03,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0017FFFF,
                    Zero,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x0017FFFF,
                    One,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0017FFFF,
                    0x02,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0017FFFF,
                    0x03,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0018FFFF,
                    Zero,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x0018FFFF,
                    One,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0018FFFF,
                    0x02,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0018FFFF,
                    0x03,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0019FFFF,
                    Zero,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x0019FFFF,
                    One,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x0019FFFF,
                    0x02,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x0019FFFF,
                    0x03,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x001AFFFF,
                    Zero,
                    Zero,
                    0x12
                },

                Package (0x04)
                {
                    0x001AFFFF,
                    One,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x001AFFFF,
                    0x02,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x001AFFFF,
                    0x03,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x001BFFFF,
                    Zero,
                    Zero,
                    0x13
                },

                Package (0x04)
                {
                    0x001BFFFF,
                    One,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x001BFFFF,
                    0x02,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x001BFFFF,
                    0x03,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x001CFFFF,
                    Zero,
                    Zero,
                    0x14
                },

                Package (0x04)
                {
                    0x001CFFFF,
                    One,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x001CFFFF,
                    0x02,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x001CFFFF,
                    0x03,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x001DFFFF,
                    Zero,
                    Zero,
                    0x15
                },

                Package (0x04)
                {
                    0x001DFFFF,
                    One,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x001DFFFF,
                    0x02,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x001DFFFF,
                    0x03,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x001EFFFF,
                    Zero,
                    Zero,
                    0x16
                },

                Package (0x04)
                {
                    0x001EFFFF,
                    One,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x001EFFFF,
                    0x02,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x001EFFFF,
                    0x03,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x001FFFFF,
                    Zero,
                    Zero,
                    0x17
                },

                Package (0x04)
                {
                    0x001FFFFF,
                    One,
                    Zero,
                    0x10
                },

                Package (0x04)
                {
                    0x001FFFFF,
                    0x02,
                    Zero,
                    0x11
                },

                Package (0x04)
                {
                    0x001FFFFF,
                    0x03,
                    Zero,
                    0x12
                }
            })
            Device (S030)
            {
                Name (_ADR, 0x00030000)  // _ADR: Address
                Name (_PXM, 0x02)  // _PXM: Device Proximity
            }

            Device (S050)
            {
                Name (_ADR, 0x00050000)  // _ADR: Address
                Name (_PXM, One)  // _PXM: Device Proximity
            }
        }

        Device (MBRD)
        {
            Name (_HID, EisaId ("PNP0C02") /* PNP Motherboard Resources */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                Memory32Fixed (ReadOnly,
                    0xE0000000,         // Address Base
                    0x10000000,         // Address Length
                    )
                Memory32Fixed (ReadWrite,
                    0xFEB00000,         // Address Base
                    0x00001000,         // Address Length
                    )
                IO (Decode16,
                    0x0600,             // Range Minimum
                    0x0600,             // Range Maximum
                    0x01,               // Alignment
                    0x03,               // Length
                    )
            })
        }
    }
}

