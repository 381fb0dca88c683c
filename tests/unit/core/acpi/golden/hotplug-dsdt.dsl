/*
 * Intel ACPI Component Architecture
 *
 * Disassembling to symbolic ASL+ operators
 *
 *
 * Original Table Header:
 *     Signature        "DSDT"
 *     Length           0x000004C7 (1223)
 *     Revision         0x02
 *     Checksum         0x56
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
        Device (PRES)
        {
            Name (_HID, EisaId ("PNP0A06") /* Generic Container Device */)  // _HID: Hardware ID
            Name (_UID, "CPU Hotplug Controller")  // _UID: Unique ID
            Mutex (CPLK, 0x00)
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                Memory32Fixed (ReadWrite,
                    0xFEB02000,         // Address Base
                    0x0000000C,         // Address Length
                    )
            })
            OperationRegion (PRST, SystemMemory, 0xFEB02000, 0x0C)
            Field (PRST, ByteAcc, NoLock, WriteAsZeros)
            {
                Offset (0x04),
                CPEN,   1,
                CINS,   1,
                CRMV,   1,
                CEJ0,   1,
                Offset (0x05),
                CCMD,   8
            }

            Field (PRST, DWordAcc, NoLock, Preserve)
            {
                CSEL,   32,
                Offset (0x08),
                CDAT,   32
            }
        }

        Device (CPUS)
        {
            Name (_HID, "ACPI0010" /* Processor Container Device */)  // _HID: Hardware ID
            Name (_CID, EisaId ("PNP0A05") /* Generic Container Device */)  // _CID: Compatible ID
            Method (CSTA, 1, Serialized)
            {
                Acquire (\_SB.PRES.CPLK, 0xFFFF)
                \_SB.PRES.CSEL = Arg0
                Local0 = Zero
                If ((\_SB.PRES.CPEN == One))
                {
                    Local0 = 0x0F
                }

                Release (\_SB.PRES.CPLK)
                Return (Local0)
            }

            Method (CTFY, 2, Serialized)
            {
                If ((Arg0 == Zero))
                {
                    Notify (C000, Arg1)
                }

                If ((Arg0 == One))
                {
                    Notify (C001, Arg1)
                }

                If ((Arg0 == 0x02))
                {
                    Notify (C002, Arg1)
                }

                If ((Arg0 == 0x03))
                {
                    Notify (C003, Arg1)
                }
            }

            Method (CEJ0, 1, Serialized)
            {
                Acquire (\_SB.PRES.CPLK, 0xFFFF)
                \_SB.PRES.CSEL = Arg0
                \_SB.PRES.CEJ0 = One
                Release (\_SB.PRES.CPLK)
            }

            Method (CSCN, 0, Serialized)
            {
                Acquire (\_SB.PRES.CPLK, 0xFFFF)
                Local0 = Zero
                While ((Local0 < 0x04))
                {
                    \_SB.PRES.CSEL = Local0
                    If ((\_SB.PRES.CINS == One))
                    {
                        CTFY (Local0, One)
                        \_SB.PRES.CINS = One
                    }

                    If ((\_SB.PRES.CRMV == One))
                    {
                        CTFY (Local0, 0x03)
                        \_SB.PRES.CRMV = One
                    }

                    Local0 += One
                }

                Release (\_SB.PRES.CPLK)
            }

            Device (C000)
            {
                Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
                Name (_UID, Zero)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (CSTA (Zero))
                }

                Name (_MAT, Buffer (0x08)  // _MAT: Multiple APIC Table Entry
                {
                     0x00, 0x08, 0x00, 0x00, 0x01, 0x00, 0x00, 0x00   // ........
                })
                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    CEJ0 (Zero)
                }
            }

            Device (C001)
            {
                Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
                Name (_UID, One)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (CSTA (One))
                }

                Name (_MAT, Buffer (0x08)  // _MAT: Multiple APIC Table Entry
                {
                     0x00, 0x08, 0x01, 0x01, 0x01, 0x00, 0x00, 0x00   // ........
                })
                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    CEJ0 (One)
                }
            }

            Device (C002)
            {
                Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
                Name (_UID, 0x02)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (CSTA (0x02))
                }

                Name (_MAT, Buffer (0x08)  // _MAT: Multiple APIC Table Entry
                {
                     0x00, 0x08, 0x02, 0x02, 0x01, 0x00, 0x00, 0x00   // ........
                })
                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    CEJ0 (0x02)
                }
            }

            Device (C003)
            {
                Name (_HID, "ACPI0007" /* Processor Device */)  // _HID: Hardware ID
                Name (_UID, 0x03)  // _UID: Unique ID
                Method (_STA, 0, NotSerialized)  // _STA: Status
                {
                    Return (CSTA (0x03))
                }

                Name (_MAT, Buffer (0x10)  // _MAT: Multiple APIC Table Entry
                {
                    /* 0000 */  0x09, 0x10, 0x00, 0x00, 0x00, 0x01, 0x00, 0x00,  // ........
                    /* 0008 */  0x01, 0x00, 0x00, 0x00, 0x03, 0x00, 0x00, 0x00   // ........
                })
                Method (_EJ0, 1, NotSerialized)  // _EJx: Eject Device, x=0-9
                {
                    CEJ0 (0x03)
                }
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
                    \_SB.CPUS.CSCN ()
                }

                If ((Local0 & 0x08))
                {
                    Notify (\_SB.PWRB, 0x80) // Status Change
                }
            }
        }

        Device (MBRD)
        {
            Name (_HID, EisaId ("PNP0C02") /* PNP Motherboard Resources */)  // _HID: Hardware ID
            Name (_UID, Zero)  // _UID: Unique ID
            Name (_CRS, ResourceTemplate ()  // _CRS: Current Resource Settings
            {
                Memory32Fixed (ReadWrite,
                    0xFEB00000,         // Address Base
                    0x00001000,         // Address Length
                    )
                Memory32Fixed (ReadWrite,
                    0xFEB02000,         // Address Base
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

